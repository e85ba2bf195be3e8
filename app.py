"""ClusterXchange API and event functions: wiring only; the work is in chalicelib."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate, Response
from chalice.app import Request

from chalicelib import ports
from chalicelib.handlers import (
    alumni,
    contacts,
    docs,
    events,
    exchanges,
    exports,
    matching,
    meta,
    notifications,
    ops,
    partnerships,
    payments,
    reference,
    registrations,
    statistics,
    support,
)
from chalicelib.handlers.authorizer import authorizer_blueprint
from chalicelib.handlers.http import cors_headers, reshape_chalice_error
from chalicelib.observability import entry, function, metrics
from chalicelib.settings import get_settings

# configure_logs=False: Chalice would otherwise set the logger named after the app to ERROR (debug off),
# and Powertools' Logger is that same logger (service "clusterxchange"): every INFO and WARNING line of
# the app would be dropped. Powertools owns logging; its level comes from the settings.
app = Chalice(app_name="clusterxchange", configure_logs=False)
app.api.cors = False
# The adapters every function's services use (payment gateway, mailer, clock): named here, built on
# first use, so importing this file builds none of them.
ports.wire(ports.wiring)

app.register_blueprint(authorizer_blueprint)
for module in (
    reference,
    partnerships,
    meta,
    notifications,
    registrations,
    matching,
    contacts,
    exchanges,
    payments,
    ops,
    support,
    exports,
    alumni,
    statistics,
    docs,
):
    app.register_blueprint(module.api.blueprint)


def _request_id(event: Request) -> str:
    # API Gateway's request id (the local gateway adds one as API Gateway does); the invocation's id
    # stands in only where neither gives one.
    return str((event.context or {}).get("requestId") or getattr(app.lambda_context, "aws_request_id", ""))


# The API handler's entry, as every event function's (Chalice's app object is the Lambda handler, so the
# invocation's context is bound around each request), with the request's id. Built once: the logger's and
# tracer's wrappers are made at import, not again for every request. It is given (request, get_response)
# and answers get_response(request); a lambda, so every app.py function keeps the name of its Lambda.
_api_entry = entry(
    lambda call, _context: call[1](call[0]), "api_handler", lambda call, _context: _request_id(call[0])
)


@app.middleware("http")
def errors_and_correlation(event: Request, get_response: Any) -> Response:
    request_id = _request_id(event)
    response = reshape_chalice_error(_api_entry((event, get_response), app.lambda_context))
    response.headers["X-Request-Id"] = request_id
    # Every response, errors included, so a browser can read what went wrong.
    response.headers.update(cors_headers(event.headers.get("origin"), get_settings().allowed_origins))
    if response.status_code >= 500 and get_settings().metrics_enabled:
        metrics.add_metric(name="ServerErrors", unit="Count", value=1)
        metrics.flush_metrics()
    return response


# Event functions. Their event sources (streams, queues) are wired in infra/resources.py, which both
# the deployment template and the local stack's event pump read.
@app.lambda_function(name="on_registration_change")
@function("on_registration_change")
def on_registration_change(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.on_registration_change(event, context)


# The outbox's stream: every effect a committed change staged (mail, rendering, payments, queues).
@app.lambda_function(name="deliver_effects")
@function("deliver_effects")
def deliver_effects(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.deliver_effects(event, context)


# The statistics' counters, from the registrations', exchanges' and payments' streams.
@app.lambda_function(name="count_statistics")
@function("count_statistics")
def count_statistics(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.count_statistics(event, context)


@app.lambda_function(name="on_document_uploaded")
@function("on_document_uploaded")
def on_document_uploaded(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.on_document_uploaded(event, context)


@app.lambda_function(name="on_payment_instruction")
@function("on_payment_instruction")
def on_payment_instruction(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.on_payment_instruction(event, context)


@app.lambda_function(name="on_payment_dead_letter")
@function("on_payment_dead_letter")
def on_payment_dead_letter(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.on_payment_dead_letter(event, context)


# Cognito's post-confirmation trigger (wired in infra.template): a self-signed-up user joins `participant`.
@app.lambda_function(name="on_user_confirmed")
@function("on_user_confirmed")
def on_user_confirmed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return events.on_user_confirmed(event)


_tick_entry = entry(lambda _event, _context: events.tick(), "tick")


@app.schedule(Rate(1, unit=Rate.MINUTES), name="tick")
def tick(event: Any) -> None:
    # Chalice hands a schedule's function its event object, which carries the invocation's context.
    _tick_entry(event.to_dict(), event.context)
