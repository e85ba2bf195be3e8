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


# What a failure queue keeps: SQS's longest, so a parked message outlives a long weekend and a holiday.
# SQS counts a dead letter's age from its first send to the source queue, so the source's retention
# (4 days by default) never cuts it short once it is here.
FAILURE_RETENTION_SECONDS = 14 * 24 * 3600
# Days a large export stays in the artifacts bucket (its link expires long before): the bucket's lifecycle
# rule, in the template and the local stack alike.
EXPORTS_KEPT_DAYS = 3
# AWS's rule for a queue a function reads: its visibility timeout at least six times the function's
# timeout, so a batch being retried by Lambda is not handed to a second invocation meanwhile.
VISIBILITY_PER_TIMEOUT = 6
# A queue no function reads nor sends failures to (the documents' dead letters): read by people.
UNREAD_VISIBILITY_TIMEOUT = 30


@dataclass(frozen=True)
class Sizing:
    """A function's memory (MB, which also sets its CPU share) and timeout (s): docs/deployment.md
    gives the measurement or reason behind each."""

    memory: int
    timeout: int


# Per function, from what it does and the figures of docs/benchmarks.md (see docs/deployment.md).
SIZING: dict[str, Sizing] = {
    # Matching loads the catalogue snapshot (peak 291 MB RSS at 100,000 registrations) and its numpy
    # maths wants the CPU; API Gateway gives up on an integration after 29 s.
    "api_handler": Sizing(1024, 29),
    # On every cold request's path: PyJWT's RS256 check and one JWKS fetch, nothing else.
    "cognito_token": Sizing(512, 10),
    # One UpdateItem a record, 25 records a batch.
    "on_registration_change": Sizing(256, 30),
    # One transaction a record (its marker and the counter items it moves), 25 records a batch.
    "count_statistics": Sizing(256, 30),
    # Renders agreements (fpdf2 and fontTools' subsetting, CPU-bound) and sends mail, 10 items a batch.
    "deliver_effects": Sizing(1024, 60),
    # Opens every upload with pypdf or Pillow, 10 files a batch.
    "on_document_uploaded": Sizing(1024, 60),
    # One transfer an invocation: the SEPA file with its XSD validation, the ledger, idempotency.
    "on_payment_instruction": Sizing(512, 60),
    "on_payment_dead_letter": Sizing(256, 30),
    # Cognito waits 5 s for a trigger and fails the user's confirmation after that.
    "on_user_confirmed": Sizing(256, 5),
    # Re-drives effects (as deliver_effects does) and rebuilds the catalogue snapshot (9.1 s to dump
    # at 100,000 registrations on the benchmark machine).
    "tick": Sizing(1024, 120),
}


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
            # The statistics' counters follow every change of what they count; a record given up on is made
            # good by an admin's recount (python -m infra.admin recount-stats).
            *(
                EventSource("count_statistics", "dynamodb", table, on_failure="stream-failures")
                for table in ("registrations", "exchanges", "payments")
            ),
            # One instruction per invocation: each is a transfer, retried on its own.
            EventSource("on_payment_instruction", "sqs", "payments", batch_size=1),
            EventSource("on_payment_dead_letter", "sqs", "payments-dlq", batch_size=10),
        )
    )
    # ObjectCreated notifications of the documents bucket go to this queue.
    documents_notification_queue: str = "documents"

    def consumer(self, queue: str) -> str | None:
        """The function mapped to a queue, if any."""
        return next((s.function for s in self.event_sources if s.kind == "sqs" and s.source == queue), None)

    def visibility_timeout(self, queue: str) -> int:
        """Six times the longest timeout of the functions a queue is tied to: the one reading it, or
        those whose stream failures it receives (the linter ties a failure destination to them too)."""
        consumer = self.consumer(queue)
        tied = [consumer] if consumer else [s.function for s in self.event_sources if s.on_failure == queue]
        if not tied:
            return UNREAD_VISIBILITY_TIMEOUT
        return VISIBILITY_PER_TIMEOUT * max(SIZING[function].timeout for function in tied)

    def failure_queues(self) -> set[str]:
        """Every queue something fails into: a message there is work that did not happen."""
        return {q.dead_letter for q in self.queues if q.dead_letter} | {
            s.on_failure for s in self.event_sources if s.on_failure
        }

    def retention(self, queue: str) -> int | None:
        """A failure queue's retention (seconds); None: SQS's default for a work queue."""
        return FAILURE_RETENTION_SECONDS if queue in self.failure_queues() else None

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
