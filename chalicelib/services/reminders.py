"""Reminders by the business date (rules.reminders), for the scheduled function, found through indexes
(no Scan): exchanges through the sparse `due` index (by their `remind_on`), registrations through the
pending part of each partnership's queue up to the day (a new index on registrations would be the
table's second in one release, with the alumni directory's: see infra/released_indexes.json). Each is
recorded once per condition by a write that shows the day on the object (`reminded_at`, for a nudge to
act), removes an exchange's `remind_on` and stages its message (the outbox) on condition of the
object's version, so an overlapping run finds nothing left to do. The messages are delivered from the
object as stored, only while the condition holds (services.registrations and services.exchange_mail
`deliver_reminder`). Payments overdue are services.payments `mark_overdue`.

Also the backfill for exchanges and payments stored before reminders existed (`python -m infra.admin
backfill-reminders`): through the indexes they are already in, each given the day its reminder would
have had. Registrations need none: their reminder is found from their creation date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from chalicelib import clock
from chalicelib.observability import logger
from chalicelib.rules import reminders
from chalicelib.rules.exchange_model import Exchange
from chalicelib.rules.registration import PENDING
from chalicelib.services import exchange_mail, exchanges
from chalicelib.services import reference as reference_service
from chalicelib.services.writes import optimistic
from chalicelib.store import audit
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import payments as payment_store
from chalicelib.store import registrations as registration_store
from chalicelib.store.outbox import Effect

SCHEDULER = exchanges.SCHEDULER
BACKFILL = "system:backfill"


def send_due(today: date) -> int:
    """Every reminder due on or before `today`: how many were recorded (their messages staged)."""
    return remind_registrations(today) + remind_exchanges(today)


# --- registrations pending too long: their partnership --------------------------------------------


def _registration_entry(doc: dict[str, Any], action: str, actor: str, field: str) -> Any:
    return audit.entry(
        registration_store.AUDIT_KIND,
        doc["id"],
        f"registration.{action}",
        actor=actor,
        roles=None,
        at=doc["updated_at"],
        from_status=doc["status"],
        to_status=doc["status"],
        fields=(field,),
    )


def remind_registrations(today: date) -> int:
    made_by = reminders.registrations_made_by(today)
    due = [
        registration_id
        for partnership_id in sorted(reference_service.partnership_ids())
        for registration_id in registration_store.pending_unreminded(partnership_id, made_by)
    ]
    reminded = 0
    for registration_id in due:

        def attempt(registration_id: str = registration_id) -> bool:
            doc = registration_store.get(registration_id)
            if doc is None or doc["status"] != PENDING or doc.get("reminded_at"):
                return False  # decided, withdrawn or reminded of meanwhile
            if reminders.registration_remind_on(doc["created_at"]) > today.isoformat():
                return False
            updated = {**doc, "reminded_at": today.isoformat(), "updated_at": clock.now_iso()}
            entry = _registration_entry(updated, "reminded", SCHEDULER, "reminded_at")
            registration_store.replace(updated, entry, effects=(Effect(reminders.REMIND_REGISTRATION),))
            return True

        reminded += optimistic(attempt, "The registration")
    if reminded:
        logger.info("registrations reminded", extra={"count": reminded})
    return reminded


# --- exchanges: signatures outstanding, a report not filed, the day before the stay -----------------


def _anyone_asked(doc: dict[str, Any], notice: str) -> bool:
    """Whether the exchange still waits for someone the reminder asks (a signature only once its
    document is there to sign: one still being rendered is reminded of at a later run)."""
    asks = reminders.ASKS.get(notice)
    return asks is None or any(action in asks for _, action in exchange_mail.awaited(doc))


def remind_exchanges(today: date) -> int:
    reminded = 0
    for exchange_id in exchange_store.due_by(today):

        def attempt(exchange_id: str = exchange_id) -> bool:
            doc = exchange_store.get(exchange_id)
            due = reminders.exchange_reminder(doc, today) if doc is not None else None
            # Nothing due (a step's date, or a condition that ended), or nobody to ask yet.
            if doc is None or due is None or not _anyone_asked(doc, due.notice):
                return False
            exchange = Exchange.from_document(doc)
            exchanges.record(
                exchange,
                exchange.reminded(due, today),
                due.notice,
                SCHEDULER,
                ("reminded_at",) if due.nudge else ("remind_on",),
                (Effect(reminders.REMIND_EXCHANGE, due.args),),
            )
            return True

        reminded += optimistic(attempt, "The exchange")
    if reminded:
        logger.info("exchanges reminded", extra={"count": reminded})
    return reminded


# --- the backfill -------------------------------------------------------------------------------------


Cursor = tuple[str, str] | None
Page = Callable[[Cursor], tuple[list[dict[str, Any]], Cursor]]


def _pages(read: Page) -> Iterator[dict[str, Any]]:
    """Every item of a list read page by page (`read` answers a page and the cursor of the next)."""
    after: Cursor = None
    while True:
        items, after = read(after)
        yield from items
        if after is None:
            return


def backfill(today: date) -> dict[str, int]:
    """Give exchanges stored before reminders existed the day their reminder falls due (a day already
    past is reminded of at the next run), and overdue payments the day finance was told; through the
    indexes each is in already (every exchange by status, every payment). Only what was never reminded
    of: safe to run again. How many of each were given one."""
    return {"exchanges": _backfill_exchanges(today), "payments": _backfill_payments(today)}


def _backfill_exchanges(today: date) -> int:
    done = 0
    for status in reminders.EXCHANGE_REMINDERS:

        def page(after: Cursor, status: str = str(status)) -> tuple[list[dict[str, Any]], Cursor]:
            return exchange_store.list_by([("kind", "exchange")], status, 100, after)

        for found in _pages(page):
            if found.get("remind_on") or found.get("reminded_at"):
                continue

            def attempt(exchange_id: str = found["id"]) -> bool:
                doc = exchange_store.get(exchange_id)
                if doc is None or doc.get("remind_on") or doc.get("reminded_at"):
                    return False
                remind_on = reminders.backfilled_remind_on(doc)
                starts = reminders.EXCHANGE_REMINDERS.get(doc["status"]) == reminders.STARTS_TOMORROW
                if remind_on is None or (starts and remind_on < today.isoformat()):
                    return False  # nothing to remind of (a stay that has begun is not told it starts)
                exchange = Exchange.from_document({**doc, "remind_on": remind_on})
                exchanges.record(Exchange.from_document(doc), exchange, "remind", BACKFILL, ("remind_on",))
                return True

            done += optimistic(attempt, "The exchange")
    return done


def _backfill_payments(today: date) -> int:
    done = 0

    def page(after: Cursor) -> tuple[list[dict[str, Any]], Cursor]:
        return payment_store.list_by(("kind", "payment"), None, None, 100, after, today)

    for found in _pages(page):
        if not found.get("overdue_since") or found.get("reminded_at"):
            continue

        def attempt(payment_id: str = found["id"]) -> bool:
            payment = payment_store.get(payment_id)
            if payment is None or not payment.get("overdue_since") or payment.get("reminded_at"):
                return False
            updated = {**payment, "reminded_at": payment["overdue_since"], "updated_at": clock.now_iso()}
            entry = audit.entry(
                payment_store.AUDIT_KIND,
                payment_id,
                "payment.reminded",
                actor=BACKFILL,
                roles=None,
                at=updated["updated_at"],
                from_status=payment["status"],
                to_status=payment["status"],
                fields=("reminded_at",),
            )
            payment_store.replace(updated, entry)
            return True

        done += optimistic(attempt, "The payment")
    return done


__all__ = ["backfill", "remind_exchanges", "remind_registrations", "send_due"]
