"""Data access for contact requests, with the guards that keep the open-request rules atomic."""

from __future__ import annotations

from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.rules.contact import MAX_OPEN_REQUESTS
from chalicelib.store.audit import AuditEntry, to_model
from chalicelib.store.models import ContactRequestModel, MetaModel


class DuplicateRequest(Exception):
    """An open request between the same two registrations exists."""


class TooManyOpen(Exception):
    """The sender already has the maximum of open requests."""


class StaleVersion(Exception):
    """The request changed since it was read."""


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


def document_from_image(image: dict[str, Any]) -> dict[str, Any]:
    return to_document(ContactRequestModel.from_raw_data(image))


def open_count(from_id: str) -> int:
    try:
        return int(MetaModel.get(_open_key(from_id), consistent_read=True).count or 0)
    except DoesNotExist:
        return 0


def _connection() -> Connection:
    return ContactRequestModel._get_connection().connection


def create(item: ContactRequestModel, actor_role: str) -> dict[str, Any]:
    """Save a new pending request; the pair guard and the sender's open counter change with it."""
    counter = MetaModel(pk=_open_key(item.from_registration))
    guard = MetaModel(pk=_pair_key(item.from_registration, item.to_registration), ref=item.id)
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(guard, condition=MetaModel.pk.does_not_exist())
            tx.update(
                counter,
                actions=[MetaModel.count.add(1)],
                condition=MetaModel.count.does_not_exist() | (MetaModel.count < MAX_OPEN_REQUESTS),
            )
            tx.save(item, condition=ContactRequestModel.id.does_not_exist())
            tx.save(
                to_model(
                    AuditEntry(
                        entity=f"contact-request#{item.id}",
                        at=item.created_at,
                        actor=item.from_user,
                        actor_role=actor_role,
                        action="contact_request.created",
                        to_status="pending",
                    )
                )
            )
    except TransactWriteError as exc:
        # Cancellation reasons do not follow call order (TransactWrite reorders items): look instead.
        try:
            MetaModel.get(guard.pk, consistent_read=True)
            raise DuplicateRequest from exc
        except DoesNotExist:
            pass
        if open_count(item.from_registration) >= MAX_OPEN_REQUESTS:
            raise TooManyOpen from exc
        raise
    return to_document(item)


def get(request_id: str) -> ContactRequestModel | None:
    try:
        return ContactRequestModel.get(request_id, consistent_read=True)
    except DoesNotExist:
        return None


def close(
    item: ContactRequestModel, status: str, reason: str | None, actor: str, actor_role: str, now: str
) -> dict[str, Any]:
    """Move a pending request to accepted or declined, freeing the sender's slot and the pair guard."""
    previous = item.status
    item.status = status
    item.reason = reason
    item.updated_at = now
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(item, condition=ContactRequestModel.status == previous)
            tx.delete(MetaModel(pk=_pair_key(item.from_registration, item.to_registration)))
            tx.update(MetaModel(pk=_open_key(item.from_registration)), actions=[MetaModel.count.add(-1)])
            tx.save(
                to_model(
                    AuditEntry(
                        entity=f"contact-request#{item.id}",
                        at=now,
                        actor=actor,
                        actor_role=actor_role,
                        action=f"contact_request.{status}",
                        from_status=previous,
                        to_status=status,
                    )
                )
            )
    except TransactWriteError as exc:
        raise StaleVersion from exc
    return to_document(item)


def list_for(
    registration_id: str, box: str, limit: int, after: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    index = ContactRequestModel.by_sender if box == "outgoing" else ContactRequestModel.by_recipient
    result = index.query(registration_id, scan_index_forward=False, limit=limit, last_evaluated_key=after)
    items = [to_document(item) for item in result]
    return items, result.last_evaluated_key
