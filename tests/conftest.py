"""Shared fixtures: the environment every test process runs with, set before the app is imported."""

from __future__ import annotations

import os

pytest_plugins = ["tests.aws_calls", "tests.faults"]

# Settings are read once per process, so the test environment is fixed here, at collection time.
os.environ.update(
    {
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "CXC_RESOURCE_PREFIX": "cxc-test",
        "CXC_DOCUMENTS_BUCKET": "cxc-test-documents",
        "CXC_ARTIFACTS_BUCKET": "cxc-test-artifacts",
        "CXC_METRICS_ENABLED": "false",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
    }
)
for var in (
    "CXC_AWS_ENDPOINT_URL",
    "CXC_CLOCK_FILE",
    "CXC_USER_POOL_ID",
    "CXC_APP_CLIENT_ID",
    "CXC_PAYMENTS_QUEUE_URL",
):
    os.environ.pop(var, None)


# --- No Scan on any request path or event function ---------------------------------------------------
# The call counter (tests/aws_calls.py) sees every AWS call any test makes; a DynamoDB Scan whose call
# stack holds the project's code (a route, a service, a store, an event function) is recorded there and
# fails the test at teardown, so a Scan slipping into app code fails the suite wherever it is reached.
# Tests' own checks may scan (they read a whole emulated table on purpose).
from collections.abc import Callable, Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def app_scans() -> Iterator[list[str]]:
    from tests import aws_calls

    aws_calls.app_scans.clear()
    yield aws_calls.app_scans
    scans = list(aws_calls.app_scans)
    aws_calls.app_scans.clear()
    assert not scans, f"DynamoDB Scan in app code: {scans}"


@pytest.fixture
def install_ports() -> Iterator[Callable[..., Any]]:
    """`install_ports(gateway=fake)`: the app uses `fake` (a gateway, a mailer or a clock) until the
    test ends; what was in place before is put back then."""
    from chalicelib import ports

    restores: list[Callable[[], None]] = []

    def install(**fakes: Any) -> None:
        restores.append(ports.install(**fakes))

    yield install
    for restore in reversed(restores):
        restore()
