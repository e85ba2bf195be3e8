"""Every function's entry (chalicelib.observability): the logger's context and correlation id, and Tracer
only where the stage turns tracing on."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib import observability
from chalicelib.settings import Settings


class FakeTracer:
    def __init__(self) -> None:
        self.wrapped: list[Any] = []

    def capture_lambda_handler(self, handler: Any) -> Any:
        self.wrapped.append(handler)
        return handler


@pytest.fixture
def tracing(monkeypatch):
    def stage(enabled: bool) -> FakeTracer:
        tracer = FakeTracer()
        monkeypatch.setattr(observability, "get_settings", lambda: Settings(tracing_enabled=enabled))
        monkeypatch.setattr(observability, "tracer", lambda: tracer)
        return tracer

    return stage


def _context() -> SimpleNamespace:
    return SimpleNamespace(
        function_name="cxc-prod-tick",
        memory_limit_in_mb=1024,
        invoked_function_arn="arn",
        aws_request_id="r-1",
    )


def test_a_stage_with_tracing_wraps_the_handler_in_tracers_segment_once(tracing):
    # Given a stage that traces
    tracer = tracing(True)
    seen: list[Any] = []
    handler = observability.entry(lambda event, context: seen.append((event, context)) or "done", "tick")
    # When the function is invoked twice
    assert handler({"n": 1}, _context()) == "done"
    assert handler({"n": 2}, _context()) == "done"
    # Then Tracer wrapped it once (the first invocation), and the handler saw the real context
    assert len(tracer.wrapped) == 1
    assert [event["n"] for event, _ in seen] == [1, 2]
    assert seen[0][1].aws_request_id == "r-1"


def test_a_stage_without_tracing_never_creates_tracer(tracing):
    tracer = tracing(False)
    handler = observability.entry(lambda event, context: "done", "tick")
    assert handler({}, _context()) == "done"
    assert tracer.wrapped == []


def test_the_correlation_id_is_the_invocations_unless_given_and_no_context_is_faked_for_the_handler(tracing):
    tracing(False)
    seen: list[Any] = []

    def handler(event: Any, context: Any) -> None:
        seen.append((observability.logger.get_correlation_id(), context))

    observability.entry(handler, "tick")({}, _context())
    observability.entry(handler, "api_handler", lambda _e, _c: "req-9")({}, _context())
    observability.entry(handler, "deliver_effects")({}, None)  # the local pump gives no context
    assert seen[0][0] == "r-1"
    assert seen[1][0] == "req-9"
    assert seen[2][0] and seen[2][1] is None


def test_tracer_is_made_from_the_shipped_dependencies():
    # Powertools' Tracer needs aws-xray-sdk (requirements.txt); outside Lambda it disables itself.
    from aws_lambda_powertools import Tracer

    assert isinstance(observability.tracer.__wrapped__(), Tracer)
