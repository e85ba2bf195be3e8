"""Counts the AWS calls each Lambda function's code makes over the test suite, through botocore's event
hooks, and checks them against the functions' permissions (chalicelib.permissions):

- a call a function makes that its role does not allow fails the run (it would fail in AWS);
- on a run of the whole suite, an allowed action no test saw the function make fails it too (the role
  would be wider than the code needs).

Every botocore client (boto3's and PynamoDB's) reports each operation before its parameters are built,
presigned URLs and POSTs included (they are authorised by the role that signs them). The function a
call belongs to is the innermost Lambda entry point on the stack: an event function or the schedule of
app.py, the API's middleware (the API handler) or the token authorizer. Calls made by test set-up and
the local stack's tooling have no entry point and are not counted.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import botocore.session
import pytest

_ROOT = Path(__file__).resolve().parent.parent
_TESTS = str(_ROOT / "tests") + "/"
_APP = str(_ROOT / "app.py")
_AUTHORIZER = str(_ROOT / "chalicelib" / "handlers" / "authorizer.py")
_DIR_VARIABLE = "CXC_TEST_AWS_CALLS_DIR"
# The test harness's own hooks (this counter, fault injection) run inside the app's calls: not test code.
_HARNESS = frozenset({__file__, str(_ROOT / "tests" / "faults.py")})
# DynamoDB Scans made by the project's code, for the no-Scan guard (tests/conftest.py, `app_scans`).
app_scans: list[str] = []

calls: Counter[tuple[str, str]] = Counter()


def entry_point() -> str | None:
    """The Lambda function whose code is running, or None outside any (or in a test's code that a
    test put in the function's way, such as a fake that reads a queue meanwhile)."""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith(_TESTS) and code.co_filename not in _HARNESS:
            return None
        if code.co_filename == _AUTHORIZER and code.co_name == "cognito_token":
            return "cognito_token"
        if code.co_filename == _APP and not code.co_name.startswith("<"):
            # The middleware wraps every route: its caller is the API handler. Every other function
            # of app.py is a Lambda function of the same name.
            return "api_handler" if code.co_name == "errors_and_correlation" else code.co_name
        frame = frame.f_back
    return None


def iam_actions(service: str, operation: str, params: dict[str, Any], presigned: bool) -> set[str]:
    """The IAM actions that authorise an operation (not always its name)."""
    if service == "s3" and presigned and operation == "CreateBucket":
        return {"s3:PutObject"}  # botocore signs a presigned POST with CreateBucket's model
    if service == "dynamodb" and operation == "TransactWriteItems":
        # A transaction is authorised item by item, by the actions its parts stand for.
        return {f"dynamodb:{kind}Item" for item in params.get("TransactItems", ()) for kind in item}
    if service == "dynamodb" and operation == "TransactGetItems":
        return {"dynamodb:GetItem"}
    s3_actions = {
        "HeadObject": "GetObject",
        "HeadBucket": "ListBucket",
        "ListObjectsV2": "ListBucket",
        "ListObjects": "ListBucket",
    }
    if service == "s3" and operation in s3_actions:
        return {f"s3:{s3_actions[operation]}"}
    return {f"{service}:{operation}"}


def target(action: str, params: dict[str, Any]) -> str:
    """What an action applies to, in chalicelib.permissions' words."""
    from chalicelib import permissions
    from chalicelib.settings import get_settings
    from chalicelib.store.queues import PAYMENTS

    service = action.partition(":")[0]
    if service == "s3":
        settings = get_settings()
        bucket = params.get("Bucket")
        if action == "s3:ListBucket" and bucket == settings.documents_bucket:
            return permissions.DOCUMENTS_BUCKET
        if action == "s3:ListBucket" and bucket == settings.artifacts_bucket:
            return permissions.ARTIFACTS_BUCKET
        if bucket == settings.artifacts_bucket and str(params.get("Key", "")).startswith(
            settings.exports_prefix
        ):
            return permissions.EXPORTS
        named = {
            settings.documents_bucket: permissions.DOCUMENTS,
            settings.artifacts_bucket: permissions.ARTIFACTS,
        }
        return named.get(bucket, f"bucket {bucket}")
    if service == "sqs":
        queue = str(params.get("QueueUrl") or params.get("QueueName") or "")
        return permissions.PAYMENTS_QUEUE if queue.endswith(f"-{PAYMENTS}") else f"queue {queue}"
    return {
        "dynamodb": permissions.TABLES,
        "ses": permissions.MAIL,
        "cognito-idp": permissions.USER_POOL,
        "secretsmanager": permissions.CURSOR_SECRET,  # the one secret the code reads
    }.get(service, service)


def _app_frame() -> str | None:
    """The innermost frame of the project's code (app or chalicelib) on the stack, named."""
    frame = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module == "app" or module.startswith("chalicelib."):
            return f"{module}.{frame.f_code.co_name}"
        frame = frame.f_back
    return None


def _record(model: Any, params: dict[str, Any], context: dict[str, Any] | None = None, **_: Any) -> None:
    if model.service_model.signing_name == "dynamodb" and model.name == "Scan":
        where = _app_frame()
        if where is not None:
            app_scans.append(f"Scan of {params.get('TableName')} from {where}")
    function = entry_point()
    if function is None:
        return
    presigned = bool((context or {}).get("is_presign_request"))
    for action in iam_actions(model.service_model.signing_name, model.name, params, presigned):
        calls[(function, f"{action} on {target(action, params)}")] += 1


_create_client = botocore.session.Session.create_client


def _counting_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
    client = _create_client(self, *args, **kwargs)
    client.meta.events.register("before-parameter-build", _record)
    return client


botocore.session.Session.create_client = _counting_client  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without workers)
        os.environ[_DIR_VARIABLE] = tempfile.mkdtemp(prefix="aws-calls-")


def pytest_sessionfinish(session: pytest.Session) -> None:
    directory = Path(os.environ[_DIR_VARIABLE])
    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    rows = [[function, action, count] for (function, action), count in sorted(calls.items())]
    (directory / f"{worker}.json").write_text(json.dumps(rows), encoding="utf-8")
    if hasattr(session.config, "workerinput"):
        return
    seen: Counter[tuple[str, str]] = Counter()
    for path in directory.glob("*.json"):
        for function, action, count in json.loads(path.read_text(encoding="utf-8")):
            seen[(function, action)] += count
    problems = check(seen, whole_suite=_whole_suite(session.config))
    session.config.stash[_PROBLEMS] = (seen, problems)
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_PROBLEMS = pytest.StashKey[tuple[Counter, list[str]]]()


def check(seen: Counter[tuple[str, str]], *, whole_suite: bool) -> list[str]:
    from chalicelib.permissions import PERMISSIONS

    def allowed(function: str) -> set[str]:
        return {f"{action} on {g.on}" for g in PERMISSIONS.get(function, ()) for action in g.actions}

    problems = [
        f"{function} calls {action} ({count}x) but its role does not allow it (chalicelib/permissions.py)"
        for (function, action), count in sorted(seen.items())
        if action not in allowed(function)
    ]
    if whole_suite:
        problems += [
            f"{function} may {action} but no test saw it do so: drop it or test the code that needs it"
            for function in sorted(PERMISSIONS)
            for action in sorted(allowed(function))
            if (function, action) not in seen
        ]
    return problems


def _whole_suite(config: pytest.Config) -> bool:
    """Only a run of every test can say an action is never used."""
    testpaths = [str(_ROOT / p) for p in config.getini("testpaths")]
    chosen = [str(Path(a).resolve()) for a in config.args]
    return (
        sorted(chosen) == sorted(testpaths)
        and not config.option.keyword
        and not config.option.markexpr
        and not config.getoption("lf", False)
        and not config.getoption("exitfirst", False)
    )


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _PROBLEMS not in config.stash:
        return
    seen, problems = config.stash[_PROBLEMS]
    by_function: dict[str, list[str]] = {}
    for (function, action), count in sorted(seen.items()):
        by_function.setdefault(function, []).append(f"{action} {count}")
    terminalreporter.section("AWS calls by Lambda function")
    for function, actions in by_function.items():
        terminalreporter.write_line(f"{function}: {', '.join(actions)}")
    for problem in problems:
        terminalreporter.write_line(f"PERMISSIONS: {problem}", red=True)
