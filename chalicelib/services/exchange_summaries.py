"""What the visitor's and the host's registrations hold of their exchanges (visited, hosting periods,
completed exchanges), which the matching, contact and alumni rules read: the `sync_registrations`
effect, from the exchange as stored."""

from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.rules import alumni
from chalicelib.rules.exchange_flow import ExchangeStatus
from chalicelib.services.writes import optimistic
from chalicelib.store import audit
from chalicelib.store import exchanges as store
from chalicelib.store import registrations as registration_store
from chalicelib.store.outbox import Item

_COUNTED = frozenset(ExchangeStatus) - {
    ExchangeStatus.DRAFT,
    ExchangeStatus.CHANGES_REQUESTED,
    ExchangeStatus.CANCELLED,
}


def _summary_of(registration: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The registration's exchange summary with this exchange's state folded in."""
    summary = dict(registration.get("exchanges") or {})
    counted = doc["status"] in _COUNTED
    completed = alumni.completed_records(registration["id"], [doc])
    if completed:  # the alumni network's record of it (rules.alumni)
        summary["completed"] = alumni.with_completed(summary.get("completed"), completed)
    if registration["id"] == doc["visitor"]["registration_id"]:
        # A visitor visits once: whichever exchange holds its visit (cancelling gives it back).
        summary["visited"] = store.visiting(registration["id"]) is not None
    if registration["id"] == doc["host"]["registration_id"]:
        periods = [p for p in summary.get("hosting_periods") or [] if p.get("exchange_id") != doc["id"]]
        if counted:
            periods.append({"exchange_id": doc["id"], "start": doc["start_date"], "end": doc["end_date"]})
        summary["hosting_periods"] = sorted(periods, key=lambda p: (p["start"], p["exchange_id"]))
    return summary


def deliver_sync(item: Item) -> None:
    """The `sync_registrations` effect."""
    sync_registrations(item.subject_id)


def sync_registrations(exchange_id: str) -> None:
    """Keep the visitor's and the host's exchange summaries current. The exchange is read as stored, so
    a late or redelivered effect never puts an old state back."""
    doc = store.get(exchange_id)
    if doc is None:
        return
    for registration_id in (doc["visitor"]["registration_id"], doc["host"]["registration_id"]):

        def attempt(registration_id: str = registration_id) -> None:
            registration = registration_store.get(registration_id)
            if registration is None:
                return
            summary = _summary_of(registration, doc)
            if summary == (registration.get("exchanges") or {}):
                return  # nothing changed: a redelivered record writes nothing
            now = clock.now_iso()
            entry = audit.entry(
                registration_store.AUDIT_KIND,
                registration_id,
                "registration.exchanges_updated",
                actor="system:exchanges",
                roles=None,
                at=now,
                from_status=registration["status"],
                to_status=registration["status"],
                fields=("exchanges",),
            )
            registration_store.replace({**registration, "exchanges": summary, "updated_at": now}, entry)

        optimistic(attempt, "The registration")
