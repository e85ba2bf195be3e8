"""Fault injection: the app's AWS calls fail as a failing cloud makes them fail.

Every botocore client (boto3's and PynamoDB's) gets two hooks, as the AWS-call counter does: one before
the request is sent (the call fails and takes no effect) and one after the answer came back (the call
took effect and its answer is lost). Only the app's calls are touched (those made under a Lambda entry
point: a route, an event function, the schedule; tests/aws_calls.py tells which), never a test's own
set-up or checks. A rule may also kill the invocation at a call (`Killed`, a BaseException nothing in
the app catches, as a timeout or an out-of-memory stop would end it) before or after the call, or
answer it with a service's own error (`answer`: throttling, a transaction cancelled for a conflict) as
the app sees it once botocore's retries are spent, through botocore's and PynamoDB's wrapping.

Used as a fixture: `faults.fail("TransactWriteItems", when="after", function="on_payment_instruction")`,
`with faults.answering("TransactionCanceledException", times=2, reason="TransactionConflict")`, or
`faults.chaos(rate=0.1, seed=7)` for every call at random.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError

from tests import aws_calls


class Killed(BaseException):
    """The invocation died here."""


@dataclass
class Rule:
    operation: str | None  # botocore's operation name ("TransactWriteItems"), None for any
    when: str  # "before" | "after"
    times: int | None  # how many matching calls fail (None: every one); then the rule is spent
    function: str | None = None  # the Lambda function whose call it is ("api_handler", "tick", ...)
    match: Callable[[dict[str, Any]], bool] | None = None  # on the call's parameters
    kill: bool = False
    service: str | None = None  # botocore's signing name ("dynamodb", "s3", "ses", "sqs")
    code: str | None = None  # the service's error code to answer (else a 503 before, a 500 after)
    reason: str | None = None  # a cancelled transaction's reason, for its first item
    answered: list[str] = field(default_factory=list)  # the operations it failed
    passed: list[str] = field(default_factory=list)  # the matching ones it let through, spent

    @property
    def hits(self) -> int:
        return len(self.answered)

    def matches(self, service: str, operation: str, function: str, params: dict[str, Any]) -> bool:
        return (
            self.operation in (None, operation)
            and self.service in (None, service)
            and self.function in (None, function)
            and (self.match is None or self.match(params))
        )

    def spent(self) -> bool:
        return self.times is not None and self.hits >= self.times


@dataclass
class Faults:
    rules: list[Rule] = field(default_factory=list)
    injected: list[tuple[str, str, str, str]] = field(default_factory=list)  # (when, function, service, op)
    rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    # Under chaos: which (service, operation) may fail after taking effect (all but these).
    after_exempt: frozenset[tuple[str, str]] = frozenset()
    # The app's calls may come from several threads (tests/api/test_races.py): one decision at a time.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(
        self,
        operation: str | None = None,
        *,
        when: str = "before",
        times: int | None = 1,
        function: str | None = None,
        match: Callable[[dict[str, Any]], bool] | None = None,
        kill: bool = False,
        service: str | None = None,
    ) -> Rule:
        rule = Rule(operation, when, times, function, match, kill, service)
        self.rules.append(rule)
        return rule

    def answer(
        self,
        code: str,
        operation: str | None = "TransactWriteItems",
        *,
        times: int | None = None,
        reason: str | None = None,
        service: str = "dynamodb",
        function: str | None = None,
    ) -> Rule:
        """The next `times` app calls of `operation` (None: any; `times` None: every call) are answered
        `code` by `service` without taking effect; a transaction's cancellation names `reason` for its
        first item (the others "None", as DynamoDB lists them)."""
        rule = Rule(operation, "before", times, function, service=service, code=code, reason=reason)
        self.rules.append(rule)
        return rule

    @contextmanager
    def answering(
        self, code: str, operation: str | None = "TransactWriteItems", **kwargs: Any
    ) -> Iterator[Rule]:
        """`answer` while inside the block (the service keeps up again after it)."""
        rule = self.answer(code, operation, **kwargs)
        try:
            yield rule
        finally:
            self.rules.remove(rule)

    def chaos(self, rate: float, seed: int, after_exempt: frozenset[tuple[str, str]] = frozenset()) -> None:
        """Fail every app call with probability `rate`, half before and half after it took effect."""
        self.rate, self.rng, self.after_exempt = rate, random.Random(seed), after_exempt

    def calm(self) -> None:
        self.rules.clear()
        self.rate = 0.0

    def decide(self, when: str, service: str, operation: str, params: dict[str, Any]) -> Rule | bool:
        function = aws_calls.entry_point()
        if function is None:
            return False
        with self.lock:
            for rule in self.rules:
                if rule.when != when or not rule.matches(service, operation, function, params):
                    continue
                if rule.spent():
                    rule.passed.append(operation)
                    continue
                rule.answered.append(operation)
                self.injected.append((when, function, service, operation))
                return rule
            if self.rate and self._chaos_fails(when, service, operation):
                self.injected.append((when, function, service, operation))
                return True
        return False

    def _chaos_fails(self, when: str, service: str, operation: str) -> bool:
        # One draw per call (at "before"); an "after" fault is decided then and remembered for the call.
        if when == "before":
            draw = self.rng.random()
            self._after_pending = False
            if draw < self.rate / 2:
                return True
            self._after_pending = draw < self.rate and (service, operation) not in self.after_exempt
            return False
        pending, self._after_pending = getattr(self, "_after_pending", False), False
        return pending


_active: list[Faults] = []


def _error(client: Any, operation: str, when: str, rule: Rule | None, params: dict[str, Any]) -> ClientError:
    if rule is None or rule.code is None:
        code, status = ("ServiceUnavailable", 503) if when == "before" else ("InternalServerError", 500)
        return ClientError(
            {
                "Error": {"Code": code, "Message": f"injected: {operation} failed {when} taking effect"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            },
            operation,
        )
    # The service's own answer as botocore gives it once its retries are spent: its modelled exception,
    # a transaction's reasons one per item.
    response: dict[str, Any] = {
        "Error": {"Code": rule.code, "Message": f"{rule.code} (injected)"},
        "ResponseMetadata": {"HTTPStatusCode": 400, "MaxAttemptsReached": True, "RetryAttempts": 3},
    }
    if rule.reason is not None:
        reasons: list[dict[str, Any]] = [{"Code": "None"} for _ in params.get("TransactItems") or [None]]
        reasons[0] = {"Code": rule.reason, "Message": f"{rule.reason} (injected)"}
        response["CancellationReasons"] = reasons
    error_class: type[ClientError] = client.exceptions.from_code(rule.code)
    return error_class(response, operation)


def _hook(client: Any, when: str) -> Callable[..., Any]:
    def hook(model: Any = None, params: Any = None, context: Any = None, **kwargs: Any) -> None:
        if not _active or model is None:
            return
        # The call's own parameters: given before they are built, kept in the call's context for after.
        if when == "before":
            call_params = params if isinstance(params, dict) else {}
            if isinstance(context, dict):
                context["fault_params"] = call_params
        else:
            call_params = (context or {}).get("fault_params") or {}
        service = model.service_model.signing_name
        decided = _active[-1].decide(when, service, model.name, call_params)
        operation = model.name
        if decided is False:
            return
        rule = decided if isinstance(decided, Rule) else None
        if rule is not None and rule.kill:
            raise Killed(f"{when} {operation}")
        raise _error(client, operation, when, rule, call_params)

    return hook


_create_client = botocore.session.Session.create_client


def _faulty_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
    client = _create_client(self, *args, **kwargs)
    # Before the request is built (nothing is sent: the call takes no effect), with the parameters as the
    # app passed them; after the answer is parsed (the call took effect). Each client's own hooks: an
    # answered error is of that client's modelled exceptions.
    client.meta.events.register_first("before-parameter-build", _hook(client, "before"))
    client.meta.events.register("after-call", _hook(client, "after"))
    return client


botocore.session.Session.create_client = _faulty_client  # type: ignore[method-assign]


@pytest.fixture
def faults() -> Iterator[Faults]:
    plan = Faults()
    _active.append(plan)
    try:
        yield plan
    finally:
        _active.remove(plan)


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
