"""Data access for contact requests, with the guards that keep the open-request rules atomic."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.store import outbox
from chalicelib.store.audit import AuditEntry, to_model
from chalicelib.store.models import CONTACT_REQUEST_PENDING, ContactRequestModel, MetaModel
from chalicelib.store.outbox import Effect
from chalicelib.store.writes import StaleVersion, transaction

AUDIT_KIND = "contact-request"
OUTBOX_KIND = "contact_request"  # an outbox subject's kind is a word (the stuck list's cursors say so)


class DuplicateRequest(Exception):
    """An open request between the same two registrations exists."""


class TooManyOpen(Exception):
    """The sender already has the maximum of open requests."""


def _pair_key(from_id: str, to_id: str) -> str:
    return f"contact-open#{from_id}#{to_id}"


def _open_key(from_id: str) -> str:
    return f"contact-open-count#{from_id}"


def to_document(item: ContactRequestModel) -> dict[str, Any]:
    return {
        "id": item.id,
        "from": item.from_registration,
        "to": item.to_registration,
        "from_user": item.from_user,
        "to_user": item.to_user,
        "status": item.status,
        "message": item.message,
        "reason": item.reason,
        "sender": item.from_summary or {},
        "recipient": item.to_summary or {},
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "version": item.version,
    }


def subject(request_id: str) -> str:
    """What the outbox calls a contact request."""
    return f"{OUTBOX_KIND}:{request_id}"


def open_count(from_id: str) -> int:
    try:
        return int(MetaModel.get(_open_key(from_id), consistent_read=True).tally or 0)
    except DoesNotExist:
        return 0


def create(
    item: ContactRequestModel, entry: AuditEntry, *, max_open: int, effects: tuple[Effect, ...] = ()
) -> dict[str, Any]:
    """Save a new pending request, with the effects it causes; the pair guard and the sender's open
    counter change with it, the counter on condition it is below `max_open` (the rule's limit, which
    the service passes: the store knows no rules). TooManyOpen when it is not."""
    counter = MetaModel(pk=_open_key(item.from_registration))
    guard = MetaModel(pk=_pair_key(item.from_registration, item.to_registration), ref=item.id)
    try:
        with transaction() as tx:
            tx.save(guard, condition=MetaModel.pk.does_not_exist())
            tx.update(
                counter,
                actions=[MetaModel.tally.add(1)],
                condition=MetaModel.tally.does_not_exist() | (MetaModel.tally < max_open),
            )
            tx.save(item, condition=ContactRequestModel.id.does_not_exist())
            tx.save(to_model(entry))
            outbox.stage(tx, subject(item.id), 1, effects)
    except StaleVersion as exc:
        # Which condition failed cannot be told from the cancellation reasons: look instead.
        try:
            MetaModel.get(guard.pk, consistent_read=True)
            raise DuplicateRequest from exc
        except DoesNotExist:
            pass
        if open_count(item.from_registration) >= max_open:
            raise TooManyOpen from exc
        raise
    return to_document(item)


def get(request_id: str) -> dict[str, Any] | None:
    if not request_id.startswith("cr_") or len(request_id) > 64:
        return None  # never issued: no need to ask DynamoDB
    try:
        return to_document(ContactRequestModel.get(request_id, consistent_read=True))
    except DoesNotExist:
        return None


def _to_model(doc: dict[str, Any]) -> ContactRequestModel:
    return ContactRequestModel(
        id=doc["id"],
        from_registration=doc["from"],
        to_registration=doc["to"],
        from_user=doc["from_user"],
        to_user=doc["to_user"],
        status=str(doc["status"]),
        message=doc["message"],
        reason=doc.get("reason"),
        from_summary=doc["sender"] or None,
        to_summary=doc["recipient"] or None,
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        version=doc["version"],
    )


def close(
    doc: dict[str, Any],
    status: str,
    reason: str | None,
    now: str,
    entry: AuditEntry,
    effects: tuple[Effect, ...] = (),
) -> dict[str, Any]:
    """Move a pending request on (still at the version read), freeing the sender's slot and the pair
    guard, with the effects it causes. StaleVersion when another write came first."""
    item = _to_model({**doc, "status": status, "reason": reason, "updated_at": now})
    with transaction() as tx:
        tx.save(item, condition=ContactRequestModel.status == CONTACT_REQUEST_PENDING)
        tx.delete(MetaModel(pk=_pair_key(item.from_registration, item.to_registration)))
        tx.update(MetaModel(pk=_open_key(item.from_registration)), actions=[MetaModel.tally.add(-1)])
        tx.save(to_model(entry))
        outbox.stage(tx, subject(doc["id"]), doc["version"] + 1, effects)
    return to_document(item)


def replace(doc: dict[str, Any], entry: AuditEntry, effects: tuple[Effect, ...] = ()) -> dict[str, Any]:
    """Write a request as it is in `doc`, its status unchanged (still at the version read), with its
    audit entry and the effects it causes. StaleVersion when another write came first."""
    item = _to_model(doc)
    with transaction() as tx:
        tx.save(item, condition=ContactRequestModel.status == doc["status"])
        tx.save(to_model(entry))
        outbox.stage(tx, subject(doc["id"]), doc["version"] + 1, effects)
    return to_document(item)


def all_for(registration_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every request the registration sent and every one it received, newest first: a Query of each
    box's index, read to its end (the owner's export, a withdrawal's effects)."""
    sent = ContactRequestModel.by_sender.query(registration_id, scan_index_forward=False)
    received = ContactRequestModel.by_recipient.query(registration_id, scan_index_forward=False)
    return [to_document(m) for m in sent], [to_document(m) for m in received]


def list_for(
    registration_id: str, box: str, limit: int, after: tuple[str, str] | None
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """One page of a box, newest first. `after` is (created_at, id) of the last item of the previous
    page; one more item than asked for is read, so the last page hands out no cursor."""
    outgoing = box == "outgoing"
    index = ContactRequestModel.by_sender if outgoing else ContactRequestModel.by_recipient
    start = None
    if after is not None:
        start = {
            "id": {"S": after[1]},
            ("from_registration" if outgoing else "to_registration"): {"S": registration_id},
            "created_at": {"S": after[0]},
        }
    models = list(
        index.query(
            registration_id,
            scan_index_forward=False,
            limit=limit + 1,
            page_size=limit + 1,
            last_evaluated_key=start,
        )
    )
    page = models[:limit]
    next_after = (page[-1].created_at, page[-1].id) if len(models) > limit else None
    return [to_document(m) for m in page], next_after
