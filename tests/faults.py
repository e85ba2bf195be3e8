"""Fault injection: the app's AWS calls fail as a failing cloud makes them fail.

Every botocore client (boto3's and PynamoDB's) gets two hooks, as the AWS-call counter does: one before
the request is sent (the call fails and takes no effect) and one after the answer came back (the call
took effect and its answer is lost). Only the app's calls are touched (those made under a Lambda entry
point: a route, an event function, the schedule; tests/aws_calls.py tells which), never a test's own
set-up or checks. A rule may also kill the invocation at a call (`Killed`, a BaseException nothing in
the app catches, as a timeout or an out-of-memory stop would end it) before or after the call.

Used as a fixture: `faults.fail("TransactWriteItems", when="after", function="on_payment_instruction")`,
or `faults.chaos(rate=0.1, seed=7)` for every call at random.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
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
    times: int  # how many matching calls fail; then the rule is spent
    function: str | None = None  # the Lambda function whose call it is ("api_handler", "tick", ...)
    match: Callable[[dict[str, Any]], bool] | None = None  # on the call's parameters
    kill: bool = False
    service: str | None = None  # botocore's signing name ("dynamodb", "s3", "ses", "sqs")
    hits: int = 0

    def applies(self, service: str, operation: str, function: str, params: dict[str, Any]) -> bool:
        return (
            self.hits < self.times
            and self.operation in (None, operation)
            and self.service in (None, service)
            and self.function in (None, function)
            and (self.match is None or self.match(params))
        )


@dataclass
class Faults:
    rules: list[Rule] = field(default_factory=list)
    injected: list[tuple[str, str, str, str]] = field(default_factory=list)  # (when, function, service, op)
    rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    # Under chaos: which (service, operation) may fail after taking effect (all but these).
    after_exempt: frozenset[tuple[str, str]] = frozenset()

    def fail(
        self,
        operation: str | None = None,
        *,
        when: str = "before",
        times: int = 1,
        function: str | None = None,
        match: Callable[[dict[str, Any]], bool] | None = None,
        kill: bool = False,
        service: str | None = None,
    ) -> Rule:
        rule = Rule(operation, when, times, function, match, kill, service)
        self.rules.append(rule)
        return rule

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
        for rule in self.rules:
            if rule.when == when and rule.applies(service, operation, function, params):
                rule.hits += 1
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


def _error(operation: str, when: str) -> ClientError:
    code, status = ("ServiceUnavailable", 503) if when == "before" else ("InternalServerError", 500)
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"injected: {operation} failed {when} taking effect"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def _hook(when: str) -> Callable[..., Any]:
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
        if isinstance(decided, Rule) and decided.kill:
            raise Killed(f"{when} {operation}")
        raise _error(operation, when)

    return hook


_before, _after = _hook("before"), _hook("after")
_create_client = botocore.session.Session.create_client


def _faulty_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
    client = _create_client(self, *args, **kwargs)
    # Before the request is built (nothing is sent: the call takes no effect), with the parameters as the
    # app passed them; after the answer is parsed (the call took effect).
    client.meta.events.register_first("before-parameter-build", _before)
    client.meta.events.register("after-call", _after)
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
