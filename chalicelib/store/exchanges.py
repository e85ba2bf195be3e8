"""Exchanges in DynamoDB: the document shape services work with, the gap-free reference per year, the
visitor's one-visit guard, and the writes that keep an exchange and its audit trail together."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.store import audit, batch, outbox, paging
from chalicelib.store.audit import AuditEntry
from chalicelib.store.models import EXCHANGE_REMINDED, ExchangeModel, MetaModel, RegistrationModel
from chalicelib.store.outbox import Effect
from chalicelib.store.writes import StaleVersion, transaction

AUDIT_KIND = "exchange"
_ID = re.compile(r"exc_[0-9a-f]{32}")
_INDEXES = {
    "visitor_user": ExchangeModel.by_visitor_user,
    "host_user": ExchangeModel.by_host_user,
    "vop": ExchangeModel.by_vop,
    "hop": ExchangeModel.by_hop,
    "kind": ExchangeModel.every,
}


class VisitorTaken(Exception):
    """The visitor already has another exchange past its draft."""


def new_id() -> str:
    return f"exc_{uuid.uuid4().hex}"


def id_for_key(user_id: str, idempotency_key: str) -> str:
    """The id of the exchange a user creates with an idempotency key: the same for every retry."""
    return "exc_" + hashlib.sha256(f"{user_id}\n{idempotency_key}".encode()).hexdigest()[:32]


def _counter_key(year: int) -> str:
    return f"exchange-reference#{year}"


def _visiting_key(visitor_registration: str) -> str:
    return f"visiting#{visitor_registration}"


def to_document(model: ExchangeModel) -> dict[str, Any]:
    parties = dict(model.parties or {})
    return {
        "id": model.id,
        "reference": model.reference,
        "status": model.status,
        "visitor_user": model.visitor_user,
        "host_user": model.host_user,
        "vop": model.vop,
        "hop": model.hop,
        "contact_request_id": model.contact_request_id,
        "visitor": parties.get("visitor"),
        "host": parties.get("host"),
        "visitor_partnership": parties.get("visitor_partnership"),
        "host_partnership": parties.get("host_partnership"),
        **dict(model.agreement or {}),
        **dict(model.schedule or {}),
        "bank_account": model.bank_account,
        "acted": {k: list(v) for k, v in (model.acted or {}).items()},
        "notes": dict(model.notes or {}),
        "validated_at": model.validated_at,
        "agreed": model.agreed,
        "documents": dict(model.documents or {}),
        "signatures": list(model.signatures or []),
        "extension": model.extension,
        "report": model.report,
        "host_feedback": model.host_feedback,
        "uploads": dict(model.uploads or {}),
        "remind_on": model.remind_on,
        "reminded_at": model.reminded_at,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
        "version": model.version,
    }


AGREEMENT_FIELDS = (
    "start_date",
    "end_date",
    "travel_days_before",
    "travel_days_after",
    "mode",
    "objectives",
    "activities",
    "activity_plan",
    "expected_outcomes",
    "responsibilities",
)
SCHEDULE_FIELDS = ("working_days", "skipped_holidays", "warnings")


def document_from_image(image: dict[str, Any]) -> dict[str, Any]:
    return to_document(ExchangeModel.from_raw_data(image))


def _remind_on(doc: dict[str, Any]) -> str | None:
    # A reminder is of a condition of these statuses: a status change ends it, whatever writes it.
    return doc.get("remind_on") if doc["status"] in EXCHANGE_REMINDED else None


def _due_on(doc: dict[str, Any]) -> str | None:
    # Derived here, from the status and the dates, so no write can leave the scheduler's index stale:
    # the first date to come, of the next step's and the reminder's.
    step = None
    if doc["status"] == "ready":
        step = str(doc["start_date"])
    elif doc["status"] == "in_progress":
        step = (date.fromisoformat(doc["end_date"]) + timedelta(days=1)).isoformat()
    dates = [d for d in (step, _remind_on(doc)) if d]
    return min(dates) if dates else None


def _to_model(doc: dict[str, Any]) -> ExchangeModel:
    version = {"version": doc["version"]} if doc.get("version") is not None else {}
    due_on = _due_on(doc)
    return ExchangeModel(
        id=doc["id"],
        reference=doc["reference"],
        status=str(doc["status"]),
        visitor_user=doc["visitor_user"],
        host_user=doc["host_user"],
        vop=doc["vop"],
        hop=doc["hop"],
        contact_request_id=doc.get("contact_request_id"),
        parties={k: doc[k] for k in ("visitor", "host", "visitor_partnership", "host_partnership")},
        agreement={k: doc.get(k) for k in AGREEMENT_FIELDS},
        schedule={k: doc.get(k) for k in SCHEDULE_FIELDS},
        bank_account=doc.get("bank_account"),
        acted={k: sorted(v) for k, v in (doc.get("acted") or {}).items()} or None,
        notes=doc.get("notes") or None,
        validated_at=doc.get("validated_at"),
        agreed=doc.get("agreed"),
        documents=doc.get("documents") or None,
        signatures=doc.get("signatures") or None,
        extension=doc.get("extension"),
        report=doc.get("report"),
        host_feedback=doc.get("host_feedback"),
        uploads=doc.get("uploads") or None,
        due="date" if due_on else None,
        due_on=due_on,
        remind_on=_remind_on(doc),
        reminded_at=doc.get("reminded_at"),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        **version,
    )


def get(exchange_id: str) -> dict[str, Any] | None:
    if not _ID.fullmatch(exchange_id):
        return None
    try:
        return to_document(ExchangeModel.get(exchange_id, consistent_read=True))
    except DoesNotExist:
        return None


@dataclass(frozen=True)
class Parties:
    """What the exchange rules read besides the exchange, as it stands: the registrations (by id), the
    exchange holding each one's visit, and (for a creation) the year's reference counter."""

    registrations: dict[str, dict[str, Any]]
    visiting: dict[str, str | None]
    counter: int = 0


def read_parties(registration_ids: list[str], year: int | None = None) -> Parties:
    """Everything `Parties` holds, in one strongly consistent read across the two tables."""
    from chalicelib.store import registrations

    guards = {_visiting_key(r): r for r in registration_ids}
    meta_keys = [*guards, *([_counter_key(year)] if year is not None else [])]
    found = batch.get_items({RegistrationModel: registration_ids, MetaModel: meta_keys})
    meta = found[MetaModel]
    counter = meta.get(_counter_key(year)) if year is not None else None
    return Parties(
        registrations={k: registrations.to_document(m) for k, m in found[RegistrationModel].items()},
        visiting={r: (meta[key].ref if key in meta else None) for key, r in guards.items()},
        counter=int(counter.tally or 0) if counter is not None else 0,
    )


def subject(exchange_id: str) -> str:
    """What the outbox calls an exchange."""
    return f"{AUDIT_KIND}:{exchange_id}"


def create(
    doc: dict[str, Any], entry: AuditEntry, year: int, taken: int, effects: tuple[Effect, ...] = ()
) -> dict[str, Any]:
    """Insert a new exchange with the next reference of `year` after `taken` (the counter as read):
    the counter moves in the same transaction, on condition it is still there, so references are
    unique and gap-free. StaleVersion when another creation took the number first (the caller reads
    again and retries)."""
    number = taken + 1
    doc = {**doc, "reference": f"CXC-{year}-{number:06d}", "version": None}
    counter = MetaModel(pk=_counter_key(year))
    still = MetaModel.tally.does_not_exist() if taken == 0 else MetaModel.tally == taken
    model = _to_model(doc)
    with transaction() as tx:
        tx.update(counter, actions=[MetaModel.tally.set(number)], condition=still)
        tx.save(model, condition=ExchangeModel.id.does_not_exist())
        tx.save(audit.to_model(entry))
        outbox.stage(tx, subject(doc["id"]), 1, effects)
    return to_document(model)


def replace(
    doc: dict[str, Any],
    entry: AuditEntry,
    *,
    take_visitor: str | None = None,
    release_visitor: str | None = None,
    along: Callable[[Any], None] | None = None,
    effects: tuple[Effect, ...] = (),
) -> dict[str, Any]:
    """Write the whole exchange if still at `doc["version"]`, with its audit entry and the effects the
    change causes (outbox items, in the same transaction). `take_visitor` claims the visitor's one visit
    for this exchange (VisitorTaken if another holds it), `release_visitor` gives it back. StaleVersion
    when another write came first."""
    model = _to_model(doc)
    try:
        with transaction() as tx:
            tx.save(model)
            tx.save(audit.to_model(entry))
            outbox.stage(tx, subject(doc["id"]), (doc.get("version") or 0) + 1, effects)
            if take_visitor is not None:
                guard = MetaModel(pk=_visiting_key(take_visitor), ref=doc["id"], updated_at=doc["updated_at"])
                tx.save(guard, condition=MetaModel.pk.does_not_exist() | (MetaModel.ref == doc["id"]))
            if release_visitor is not None:
                tx.delete(MetaModel(pk=_visiting_key(release_visitor)), condition=MetaModel.ref == doc["id"])
            if along is not None:
                along(tx)  # another object's items, written or not with this exchange
    except StaleVersion:
        if take_visitor is not None and visiting(take_visitor) not in (None, doc["id"]):
            raise VisitorTaken(take_visitor) from None
        raise
    return to_document(model)


def visiting(visitor_registration: str) -> str | None:
    """The exchange that holds the visitor's one visit, if any."""
    try:
        return MetaModel.get(_visiting_key(visitor_registration), consistent_read=True).ref
    except DoesNotExist:
        return None


def list_by(
    keys: list[tuple[str, str]], status: str | None, limit: int, after: tuple[str, str] | None
) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
    """One page of the exchanges found under any of `keys` ((index key, value): a participant as
    visitor and as host, a partnership as VOP and as HOP), newest first, each once. `after` is
    (created_at, id) of the last item of the previous page; one more item than asked is read per
    index, so the last page hands out no cursor."""
    found: dict[str, ExchangeModel] = {}
    for key, value in keys:
        condition = ExchangeModel.created_at <= after[0] if after else None
        status_filter = ExchangeModel.status == status if status else None
        query = _INDEXES[key].query(
            value,
            range_key_condition=condition,
            filter_condition=status_filter,
            scan_index_forward=False,
            page_size=limit + 1,
        )
        found.update((m.id, m) for m in paging.after_cursor(query, after, limit))
    ordered = sorted(found.values(), key=lambda m: (m.created_at, m.id), reverse=True)
    page, next_after = paging.page_of(ordered, limit)
    return [to_document(m) for m in page], next_after


def all_for_user(user_id: str) -> list[dict[str, Any]]:
    """Every exchange the user is the visitor or the host of, newest first, each once: two Queries of
    the participants' indexes, read to their end (the owner's export, a withdrawal's effects). The
    indexes are eventually consistent: read an item again before writing it."""
    found: dict[str, ExchangeModel] = {}
    for index in (ExchangeModel.by_visitor_user, ExchangeModel.by_host_user):
        found.update((m.id, m) for m in index.query(user_id, scan_index_forward=False))
    ordered = sorted(found.values(), key=lambda m: (m.created_at, m.id), reverse=True)
    return [to_document(m) for m in ordered]


def all_under(keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every exchange found under any of `keys` ((index key, value): everyone's, or a partnership as VOP
    and as HOP), each once: Queries of those indexes read to their end (an export's, not a list's)."""
    found: dict[str, ExchangeModel] = {}
    for key, value in keys:
        found.update((m.id, m) for m in _INDEXES[key].query(value))
    return [to_document(m) for m in found.values()]


def due_by(day: date, limit: int | None = None) -> list[str]:
    """Ids of the exchanges whose date-driven step or reminder is due on or before `day`, the earliest
    first (one Query, no Scan), every one unless `limit` says: a reminder that waits for its document
    stays in the index, and must not hold back a stay that starts today."""
    return [
        m.id
        for m in ExchangeModel.by_due.query(
            "date", range_key_condition=ExchangeModel.due_on <= day.isoformat(), limit=limit
        )
    ]


def of_partnership_in(partnership_id: str, statuses: frozenset[str]) -> list[dict[str, Any]]:
    """Every exchange the partnership is VOP or HOP of that is in one of these statuses, each once (two
    Queries of the partnerships' indexes, read to their end, filtered on the status): what may wait for
    it, for its daily digest. The indexes are eventually consistent: a change of the last second shows
    in the next digest."""
    found: dict[str, ExchangeModel] = {}
    for index in (ExchangeModel.by_vop, ExchangeModel.by_hop):
        query = index.query(partnership_id, filter_condition=ExchangeModel.status.is_in(*sorted(statuses)))
        found.update((m.id, m) for m in query)
    return [to_document(m) for m in sorted(found.values(), key=lambda m: (m.created_at, m.id))]


def by_reference(reference: str) -> dict[str, Any] | None:
    """The exchange a reference names (CXC-2027-000123), if any: one Query of the reference index (keys
    only), then the exchange itself, read consistently. A reference is unique (the year's counter)."""
    found = next(iter(ExchangeModel.by_reference.query(reference, limit=1)), None)
    return get(found.id) if found is not None else None
