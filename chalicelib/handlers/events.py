"""Event functions: DynamoDB stream batches, S3 notifications through SQS, the schedule.

Each batch is processed record by record with Powertools' BatchProcessor, so one bad record is
reported as a partial-batch failure (retried, then sent to a dead-letter queue) without holding
back the others.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote_plus

from chalicelib.errors import DomainError
from chalicelib.observability import logger, record_correlation

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch import BatchProcessor
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    R = TypeVar("R", DynamoDBRecord, SQSRecord)
else:
    R = TypeVar("R")


@functools.cache
def _processor(kind: str) -> BatchProcessor:
    """One processor per event kind and container. Powertools' batch utilities (~35 ms of import) load
    with the first batch, so the routes, which import this module through app.py, never pay them.

    A batch whose every record failed is reported like any other (all its items), not raised: the event
    source retries exactly those, and a one-message batch (the payments queue) fails the same way as a
    larger one."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

    return BatchProcessor(event_type=EventType[kind], raise_on_entire_batch_failure=False)


def _process(
    event: dict[str, Any], context: Any, handler: Callable[[Any], None], kind: str
) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import process_partial_response

    return dict(
        process_partial_response(
            event=event, record_handler=handler, processor=_processor(kind), context=context
        )
    )


def object_id(raw: dict[str, Any]) -> str | None:
    """What a stream or queue record is about, for the logs' correlation id: a stream record's key (a
    registration's id, an outbox item's id, which names its object), an upload's object key, a payment
    instruction's payment. Ids only: a record's content is never logged."""
    keys = (raw.get("dynamodb") or {}).get("Keys")
    if keys:
        return next((str(next(iter(value.values()))) for value in keys.values()), None)
    try:
        body = json.loads(raw.get("body") or "")
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict):
        return None
    if body.get("Records"):
        return unquote_plus(str(body["Records"][0].get("s3", {}).get("object", {}).get("key", ""))) or None
    return str(body["payment_id"]) if body.get("payment_id") else None


def _reported(handle: Callable[[R], None]) -> Callable[[R], None]:
    """The event functions' edge, as handlers.http is the routes': a refusal (a domain error) or a
    failure is logged with the record's id, never its content, and re-raised, so the batch processor
    reports the record as failed (retried, then parked on the dead-letter or failure queue). Every line
    logged while a record is handled carries its object's id as the correlation id."""

    @functools.wraps(handle)
    def run(record: R) -> None:
        record_id = record.raw_event.get("eventID") or record.raw_event.get("messageId")
        record_correlation(object_id(record.raw_event) or record_id)
        try:
            handle(record)
        except DomainError as exc:
            logger.warning(
                "event record refused",
                extra={"function": handle.__name__, "record_id": record_id, "code": exc.code},
            )
            raise
        except Exception:
            logger.exception(
                "event record failed", extra={"function": handle.__name__, "record_id": record_id}
            )
            raise

    return run


def _images(record: DynamoDBRecord) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    # Raw DynamoDB-JSON images: the store turns them into documents with the same models it writes.
    raw = record.raw_event.get("dynamodb", {})
    return raw.get("OldImage"), raw.get("NewImage")


@_reported
def _registration_record(record: DynamoDBRecord) -> None:
    """The catalogue's projection of every registration write. Decision: it stays on the stream, not an
    effect: it follows every write whoever makes it (edits, CVs, the exchanges' summaries, decisions,
    withdrawals), most of them no lifecycle step that would stage it; it only notes an id, so a late or
    replayed record is harmless (the build reads the registration as stored); and one the stream gave
    up on leaves the snapshot behind until a full rebuild, never a mail lost or sent wrong. What
    decisions and withdrawals cause is written with them (the outbox)."""
    from chalicelib.services import catalogue
    from chalicelib.store import registrations as store

    old_image, new_image = _images(record)
    old = store.document_from_image(old_image) if old_image else None
    new = store.document_from_image(new_image) if new_image else None
    catalogue.note_registration_change(old, new)


@_reported
def _effect_record(record: DynamoDBRecord) -> None:
    from chalicelib.services import effects

    # A staged effect's first delivery. Only the insert: the dispatcher's own bookkeeping (claims, marks)
    # modifies the item, and those records are not new work.
    if record.raw_event.get("eventName") != "INSERT":
        return
    _, new_image = _images(record)
    effects.deliver(str((new_image or {})["id"]["S"]))


@_reported
def _statistics_record(record: DynamoDBRecord) -> None:
    """The statistics' counters moved by the change the record carries, once however often it arrives."""
    from chalicelib.services import statistics

    old_image, new_image = _images(record)
    statistics.count_record(str(record.raw_event["eventSourceARN"]), old_image, new_image)


@_reported
def _document_record(record: SQSRecord) -> None:
    from chalicelib.services import uploads

    message = json.loads(record.body)
    if message.get("Event") == "s3:TestEvent":  # sent once when the notification is configured
        return
    for s3_record in message.get("Records", []):
        if not str(s3_record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        bucket = s3_record["s3"]["bucket"]["name"]
        key = unquote_plus(s3_record["s3"]["object"]["key"])  # keys arrive URL-encoded
        uploads.check_uploaded_object(bucket, key, int(s3_record["s3"]["object"].get("size", 0)))


@_reported
def _payment_instruction(record: SQSRecord) -> None:
    from chalicelib.services import payments

    payments.handle_instruction(json.loads(record.body))


@_reported
def _payment_dead_letter(record: SQSRecord) -> None:
    from chalicelib.services import payments

    payments.handle_dead_letter(json.loads(record.body))


def on_registration_change(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _process(event, context, _registration_record, "DynamoDBStreams")


def deliver_effects(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _process(event, context, _effect_record, "DynamoDBStreams")


def count_statistics(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _process(event, context, _statistics_record, "DynamoDBStreams")


def on_document_uploaded(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _process(event, context, _document_record, "SQS")


def on_payment_instruction(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from chalicelib.services import payments

    payments.register_invocation(context)
    return _process(event, context, _payment_instruction, "SQS")


def on_payment_dead_letter(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _process(event, context, _payment_dead_letter, "SQS")


def on_user_confirmed(event: dict[str, Any]) -> dict[str, Any]:
    """Cognito's post-confirmation trigger. Cognito also sends it after a forgotten password is reset,
    which must change nothing; it waits for the event back, and an error reaches the user, whose
    confirmation stands (so signing in again after a failure is safe)."""
    from chalicelib.services import users

    if event.get("triggerSource") == "PostConfirmation_ConfirmSignUp":
        users.enrol_self_signed_up(event["userPoolId"], event["userName"])
        logger.info("self sign-up enrolled", extra={"user_pool_id": event["userPoolId"]})
    return event


def tick() -> None:
    """The scheduled function: time-driven steps of the workflow."""
    from chalicelib import clock
    from chalicelib.services import catalogue, effects, exchanges, payments, preferences, reminders

    # First what earlier changes caused and nothing delivered yet (a stream that failed or gave up).
    redriven = effects.redrive()
    if redriven:
        logger.warning("effects re-driven", extra={"count": redriven})
    moved = exchanges.advance_by_dates(clock.today())
    if moved:
        logger.info("exchanges moved by their dates", extra={"count": moved})
    # After the steps: a stay that started today is past its day-before notice.
    reminders.send_due(clock.today())
    overdue = payments.mark_overdue(clock.today())
    if overdue:
        logger.warning("payments overdue", extra={"count": overdue})
    digests = preferences.stage_digests(clock.today())
    if digests:
        logger.info("daily digests staged", extra={"count": digests})
    rebuilt = catalogue.rebuild_index_if_stale()
    if rebuilt:
        logger.info("catalogue index rebuilt", extra={"entries": rebuilt})
