"""Powertools Logger and Metrics, created once per container, and every function's entry: the invocation's
context on every log line, a correlation id, and Tracer where the stage turns tracing on.

Tracer is created on the first traced invocation, never at import: it loads the X-Ray SDK (~250 ms),
which a stage without tracing must not pay on every cold start.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics

from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

_settings = get_settings()

logger = Logger(service=_settings.service_name, level=_settings.log_level)
metrics = Metrics(namespace=_settings.metrics_namespace, service=_settings.service_name)

Result = TypeVar("Result")
Handler = Callable[[Any, Any], Result]


@dataclass(frozen=True)
class LocalContext:
    """What stands for Lambda's context where nothing gives one (the local stack's pump, tests), so a
    line logged there has the same keys as in AWS."""

    function_name: str
    memory_limit_in_mb: int = 0
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@functools.cache
def tracer() -> Tracer:
    """The container's Tracer (patches boto3, so every AWS call is a subsegment)."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=_settings.service_name)


def _request_id(_event: Any, context: Any) -> str | None:
    return str(context.aws_request_id)


def entry(
    handler: Handler[Result],
    name: str,
    correlation_id: Callable[[Any, Any], str | None] = _request_id,
) -> Handler[Result]:
    """`handler` as a function's entry: Logger's `inject_lambda_context` (the function, its request id,
    cold start, state cleared between invocations), a correlation id (by default the invocation's
    request id; an event function sets each record's object id while it handles that record), and
    Tracer's segment when the stage traces."""

    @functools.wraps(handler)
    def with_correlation(event: Any, context: Any) -> Result:
        # After inject_lambda_context, which clears what the last invocation appended.
        logger.set_correlation_id(correlation_id(event, context))
        # The stand-in is for the logger only: the handler gets what it was given (None where nothing
        # gives a context), so what reads the context (idempotency's remaining time) sees no fake one.
        return handler(event, None if isinstance(context, LocalContext) else context)

    logged = logger.inject_lambda_context(with_correlation, clear_state=True)

    @functools.cache
    def traced() -> Handler[Result]:
        return tracer().capture_lambda_handler(logged)

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Result:
        context = context if context is not None else LocalContext(function_name=name)
        return (traced() if get_settings().tracing_enabled else logged)(event, context)

    return run


def function(name: str) -> Callable[[Handler[Result]], Handler[Result]]:
    """`entry` as a decorator, for the event functions of app.py."""
    return lambda handler: entry(handler, name)


def record_correlation(object_id: str | None) -> None:
    """The object an event function's record is about (a registration, an outbox item, an upload, a
    payment): every line logged while the record is handled names it."""
    if object_id:
        logger.set_correlation_id(object_id)
