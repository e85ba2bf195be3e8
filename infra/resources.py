"""The AWS resources, defined once: the CloudFormation template and the local emulator both use these."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from chalicelib.settings import Settings
from chalicelib.store.models import ALL_MODELS, short_name
from infra.tables import TableShape, table_shape

ROLES = ("participant", "partnership", "support", "finance", "admin")


@dataclass(frozen=True)
class Queue:
    name: str
    dead_letter: str | None = None
    max_receive_count: int = 5
    visibility_timeout: int = 60


@dataclass(frozen=True)
class EventSource:
    """A Lambda event source mapping: which event function consumes which stream or queue."""

    function: str
    kind: str  # "dynamodb" (a table's stream) or "sqs"
    source: str  # table short name or queue short name
    batch_size: int = 25
    max_retries: int = 3  # streams: after this many failed attempts the record goes to `on_failure`
    on_failure: str | None = None  # queue short name


@dataclass(frozen=True)
class Resources:
    settings: Settings
    queues: tuple[Queue, ...] = field(
        default=(
            Queue("documents-dlq"),
            Queue("documents", dead_letter="documents-dlq", max_receive_count=3),
            Queue("stream-failures"),
            # Payment instructions: three attempts, then the dead-letter queue marks the payment failed.
            Queue("payments-dlq"),
            Queue("payments", dead_letter="payments-dlq", max_receive_count=3),
        )
    )
    event_sources: tuple[EventSource, ...] = field(
        default=(
            EventSource("on_registration_change", "dynamodb", "registrations", on_failure="stream-failures"),
            EventSource("on_document_uploaded", "sqs", "documents", batch_size=10),
            # Effects: what a record the stream gave up on should have delivered, the schedule re-drives.
            EventSource("deliver_effects", "dynamodb", "outbox", batch_size=10, on_failure="stream-failures"),
            # One instruction per invocation: each is a transfer, retried on its own.
            EventSource("on_payment_instruction", "sqs", "payments", batch_size=1),
            EventSource("on_payment_dead_letter", "sqs", "payments-dlq", batch_size=10),
        )
    )
    # ObjectCreated notifications of the documents bucket go to this queue.
    documents_notification_queue: str = "documents"

    def queue_name(self, short: str) -> str:
        return f"{self.settings.resource_prefix}-{short}"

    def tables(self) -> list[TableShape]:
        """Every table's shape, read from the PynamoDB models."""
        return [table_shape(model, self.settings.table_name(short_name(model))) for model in ALL_MODELS]

    def table_definitions(self) -> list[dict[str, Any]]:
        """CreateTable arguments for every table (the local stack)."""
        return [table.create_table_args() for table in self.tables()]


def _gateway_body(code: str, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message, "details": []}})


# API Gateway answers these itself, before any of our code runs; configured so their bodies follow
# the contract's error shape. The local gateway applies the same table.
GATEWAY_RESPONSES: dict[str, tuple[int, str]] = {
    "UNAUTHORIZED": (401, _gateway_body("UNAUTHORIZED", "A valid bearer token is required.")),
    "ACCESS_DENIED": (403, _gateway_body("FORBIDDEN", "Access denied.")),
    "MISSING_AUTHENTICATION_TOKEN": (404, _gateway_body("NOT_FOUND", "No such route.")),
    "THROTTLED": (429, _gateway_body("THROTTLED", "Too many requests.")),
    "REQUEST_TOO_LARGE": (413, _gateway_body("PAYLOAD_TOO_LARGE", "The request is too large.")),
    "DEFAULT_5XX": (502, _gateway_body("INTERNAL_ERROR", "An internal error occurred.")),
}


def gateway_response_headers(settings: Settings) -> dict[str, str]:
    """Headers of the responses API Gateway writes itself. They are fixed (no code runs to read the
    request's Origin), so they name the stage's first allowed origin: the web app's."""
    return {
        "Content-Type": "application/json",
        "Access-Control-Allow-Origin": settings.allowed_origins[0],
        "Vary": "Origin",
    }
