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
