"""Support queries in DynamoDB: the document shape services work with, the writes that keep a query, its
audit entry and the effects it causes together, and the lists (the asker's, support's by status, all)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.store import outbox, paging
from chalicelib.store.audit import AuditEntry, to_model
from chalicelib.store.models import SupportQueryIndex, SupportQueryModel
from chalicelib.store.outbox import Effect
from chalicelib.store.writes import StaleVersion, transaction

AUDIT_KIND = "support-query"
OUTBOX_KIND = "support_query"  # an outbox subject's kind is a word (the stuck list's cursors say so)
ID_PATTERN = r"sq_[0-9a-f]{32}"
_ID = re.compile(ID_PATTERN)

__all__ = ["AUDIT_KIND", "StaleVersion", "create", "get", "list_by", "replace", "subject"]


def new_id() -> str:
    return f"sq_{uuid.uuid4().hex}"


def subject(query_id: str) -> str:
    """What the outbox calls a support query."""
    return f"{OUTBOX_KIND}:{query_id}"


def to_document(model: SupportQueryModel) -> dict[str, Any]:
    return {
        "id": model.id,
        "asker_user": model.asker_user,
        "asker_email": model.asker_email,
        "asker_roles": list(model.asker_roles or []),
        "category": model.category,
        "status": model.status,
        "message": model.message,
        "reference": model.reference,
        "exchange_id": model.exchange_id,
        "screenshot": model.screenshot,
        "replies": list(model.replies or []),
        "created_at": model.created_at,
        "updated_at": model.updated_at,
        "version": model.version,
    }


def _to_model(doc: dict[str, Any]) -> SupportQueryModel:
    version = {"version": doc["version"]} if doc.get("version") is not None else {}
    return SupportQueryModel(
        id=doc["id"],
        asker_user=doc["asker_user"],
        asker_email=doc.get("asker_email") or None,
        asker_roles=sorted(doc.get("asker_roles") or []) or None,
        category=doc["category"],
        status=str(doc["status"]),
        message=doc["message"],
        reference=doc.get("reference"),
        exchange_id=doc.get("exchange_id"),
        screenshot=doc.get("screenshot"),
        replies=doc.get("replies") or None,
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        **version,
    )


def get(query_id: str) -> dict[str, Any] | None:
    if not _ID.fullmatch(query_id):
        return None  # never issued: no need to ask DynamoDB
    try:
        return to_document(SupportQueryModel.get(query_id, consistent_read=True))
    except DoesNotExist:
        return None


def create(doc: dict[str, Any], entry: AuditEntry) -> dict[str, Any]:
    """Save a new query with its audit entry."""
    model = _to_model({**doc, "version": None})
    with transaction() as tx:
        tx.save(model, condition=SupportQueryModel.id.does_not_exist())
        tx.save(to_model(entry))
    return to_document(model)


def replace(doc: dict[str, Any], entry: AuditEntry, effects: tuple[Effect, ...] = ()) -> dict[str, Any]:
    """Write the whole query if still at `doc["version"]`, with its audit entry and the effects the change
    causes (outbox items, in the same transaction). StaleVersion when another write came first."""
    model = _to_model(doc)
    with transaction() as tx:
        tx.save(model)
        tx.save(to_model(entry))
        outbox.stage(tx, subject(doc["id"]), doc["version"] + 1, effects)
    return to_document(model)


def list_by(
    asker: str | None,
    status: str | None,
    category: str | None,
    limit: int,
    after: tuple[str, str] | None,
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """One page of queries, newest first: the asker's (`asker`), or everyone's (None), in `status` and
    `category` when given. One Query: the asker's index, else the index of that status, else the one of
    all; what the index's key does not select is filtered. `after` is (created_at, id) of the last item
    of the previous page; one more item than asked is read, so the last page hands out no cursor."""
    filters = []
    if status and asker is not None:
        filters.append(SupportQueryModel.status == status)
    if category:
        filters.append(SupportQueryModel.category == category)
    condition = None
    for f in filters:
        condition = f if condition is None else condition & f
    index: SupportQueryIndex
    if asker is not None:
        index, key = SupportQueryModel.by_asker, asker
    elif status:
        index, key = SupportQueryModel.by_status, status
    else:
        index, key = SupportQueryModel.every, "support-query"
    query = index.query(
        key,
        range_key_condition=SupportQueryModel.created_at <= after[0] if after else None,
        filter_condition=condition,
        scan_index_forward=False,
        page_size=limit + 1,
    )
    page, next_after = paging.page_of(paging.after_cursor(query, after, limit), limit)
    return [to_document(m) for m in page], next_after


def all_for_asker(user_id: str) -> list[dict[str, Any]]:
    """Every query the user asked, newest first: a Query of the asker's index, read to its end (the
    user's export)."""
    return [to_document(m) for m in SupportQueryModel.by_asker.query(user_id, scan_index_forward=False)]
