"""Shared fixtures: the environment every test process runs with, set before the app is imported."""

from __future__ import annotations

import os

pytest_plugins = ["tests.aws_calls"]

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
# Every AWS call any test makes goes through botocore's BaseClient._make_api_call; a DynamoDB Scan whose
# call stack holds the project's code (a route, a service, a store, an event function) is recorded and
# fails the test at teardown, so a Scan slipping into app code fails the suite wherever it is reached.
# Tests' own checks may scan (they read a whole emulated table on purpose).
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402


def _app_frame() -> str | None:
    frame = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module == "app" or module.startswith("chalicelib."):
            return f"{module}.{frame.f_code.co_name}"
        frame = frame.f_back
    return None


@pytest.fixture(autouse=True)
def app_scans(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    import botocore.client

    scans: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def guarded(self, operation_name, api_params):
        if operation_name == "Scan":
            where = _app_frame()
            if where is not None:
                scans.append(f"Scan of {api_params.get('TableName')} from {where}")
        return real(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", guarded)
    yield scans
    assert not scans, f"DynamoDB Scan in app code: {scans}"
