"""A pytest plugin that counts the DynamoDB, S3, SQS and SES calls of each invocation: every route (one
call of the Chalice app) and every event function (one call of its handler), over whatever tests run.

Counted at botocore's single entry point for a client call (BaseClient._make_api_call, under the
`before-call` event hooks), so PynamoDB's calls count as the app's own. Written as JSON to the file
named by CXC_AWS_CALLS_OUT at the end of the session (bench_aws_calls prints it).
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from typing import Any

import pytest

COUNTED = {"dynamodb", "s3", "sqs", "ses"}
_current: list[str] = []  # the invocation under way (routes and functions do not nest)
_calls: Counter[str] = Counter()
# invocation name -> list of per-invocation counters
_seen: dict[str, list[Counter[str]]] = defaultdict(list)


def _wrap(name_of: Any, call: Any) -> Any:
    def invoke(self: Any, event: Any, context: Any) -> Any:
        if _current:  # an invocation inside another (a route's middleware): counted in the outer one
            return call(self, event, context)
        _current.append(name_of(self, event))
        _calls.clear()
        try:
            return call(self, event, context)
        finally:
            _seen[_current.pop()].append(Counter(_calls))

    return invoke


def _route_name(_app: Any, event: Any) -> str:
    context = event.get("requestContext") or {}
    return f"{event.get('httpMethod') or context.get('httpMethod')} {context.get('resourcePath')}"


def _function_name(handler: Any, event: Any) -> str:
    func = getattr(handler, "func", None)
    func = getattr(func, "_original_func", func)  # a plain lambda_function is wrapped once more
    records = len(event.get("Records") or []) if isinstance(event, dict) else 0
    # Per invocation means per batch: the records it carried are part of the name's figures.
    return (
        f"{getattr(func, '__name__', repr(handler))} (batch of {records})"
        if records
        else str(getattr(func, "__name__", repr(handler)))
    )


def pytest_configure(config: pytest.Config) -> None:
    import botocore.client
    from chalice import app as chalice_app

    chalice_app.Chalice.__call__ = _wrap(_route_name, chalice_app.Chalice.__call__)  # type: ignore[method-assign]
    chalice_app.EventSourceHandler.__call__ = _wrap(  # type: ignore[method-assign]
        _function_name, chalice_app.EventSourceHandler.__call__
    )
    real = botocore.client.BaseClient._make_api_call

    def counted(self: Any, operation_name: str, api_params: Any) -> Any:
        service = self.meta.service_model.service_name
        if _current and service in COUNTED:
            _calls[f"{service}.{operation_name}"] += 1
        return real(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("CXC_AWS_CALLS_OUT")
    if not out:
        return
    table = {}
    for name, invocations in sorted(_seen.items()):
        totals = [sum(c.values()) for c in invocations]
        operations: Counter[str] = Counter()
        for c in invocations:
            operations.update(c)
        table[name] = {
            "invocations": len(invocations),
            "max": max(totals),
            "mean": sum(totals) / len(totals),
            "operations": {op: n / len(invocations) for op, n in sorted(operations.items())},
        }
    with open(out, "w") as f:
        json.dump(table, f, indent=1)
