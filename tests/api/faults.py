"""DynamoDB answering the app's calls with an error, as the app sees it once botocore's own retries are
spent: a `before-call` hook on every DynamoDB client the app holds (PynamoDB's, one per model, and the
store's boto3 one) answers in DynamoDB's place, so the error goes through botocore's and PynamoDB's
exception wrapping exactly as a real one does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from pynamodb.models import Model

_HOOK = "before-call.dynamodb"


@dataclass
class Fault:
    """The next `times` calls of `operation` (None: any) answer `code`; a transaction's cancellation
    names `reason` for its first item (the others "None", as DynamoDB lists them)."""

    code: str
    operation: str | None = "TransactWriteItems"
    times: int | None = None  # None: every call
    reason: str | None = None
    answered: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        with self._lock:
            if self.operation is not None and model.name != self.operation:
                return None
            if self.times is not None and len(self.answered) >= self.times:
                self.passed.append(model.name)
                return None
            self.answered.append(model.name)
        parsed: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": f"{self.code} (injected)"},
            "ResponseMetadata": {"HTTPStatusCode": 400, "MaxAttemptsReached": True, "RetryAttempts": 3},
        }
        if self.reason is not None:
            items = json.loads(params.get("body") or b"{}").get("TransactItems", [])
            reasons = [{"Code": "None"} for _ in items] or [{"Code": "None"}]
            reasons[0] = {"Code": self.reason, "Message": f"{self.reason} (injected)"}
            parsed["CancellationReasons"] = reasons
        return AWSResponse("https://dynamodb.invalid/", 400, {}, None), parsed


def _app_clients() -> list[Any]:
    from chalicelib.store import models
    from chalicelib.store.aws import client

    tables = [
        m
        for m in vars(models).values()
        if isinstance(m, type) and issubclass(m, Model) and m is not Model and hasattr(m.Meta, "table_name")
    ]
    clients = {id(c): c for c in (m._get_connection().connection.client for m in tables)}
    boto = client("dynamodb")
    clients[id(boto)] = boto
    return list(clients.values())


@contextmanager
def dynamodb_answers(fault: Fault) -> Iterator[Fault]:
    """While inside, the app's DynamoDB calls meet `fault`."""
    clients = _app_clients()
    unique = f"cxc-fault-{id(fault)}"
    for c in clients:
        c.meta.events.register_first(f"{_HOOK}.*", fault.answer, unique_id=unique)
    try:
        yield fault
    finally:
        for c in clients:
            c.meta.events.unregister(f"{_HOOK}.*", fault.answer, unique_id=unique)


def everything_stored() -> dict[str, list[Any]]:
    """Every item of every table, in a stable order: what "nothing was written" is compared with."""
    import os

    import boto3

    ddb = boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])
    stored: dict[str, list[Any]] = {}
    for table in ddb.list_tables()["TableNames"]:
        items = []
        for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            items.extend(page["Items"])
        stored[table] = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return stored
