"""The one dispatcher of effects: delivers each outbox item (from the outbox's stream, and from the
schedule for any the stream has not delivered), once at a time, through the handler its name gives.

A handler reads the stored object the item is about (never the image of the change), does what is
still due, and is idempotent: an item may be delivered again after a delivery died between the act
and the bookkeeping. A failure is retried with jittered backoff; after MAX_ATTEMPTS the item is
`stuck` with its reason, counted in the StuckEffects metric (alarmed on) and listed for support.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from chalicelib import clock, cursors
from chalicelib.auth import Principal
from chalicelib.errors import Forbidden, NotFound
from chalicelib.observability import logger, metrics
from chalicelib.settings import get_settings
from chalicelib.store import outbox
from chalicelib.store.outbox import Effect, Item

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)  # longer than any function's timeout: a live delivery is never overtaken
_FIRST_BACKOFF = timedelta(seconds=30)
_LONGEST_BACKOFF = timedelta(hours=1)
REDRIVE_BATCH = 50

# Effect name -> its handler, "module:function", imported on first use so that a function delivering
# mail never loads the PDF renderer. Every effect a lifecycle table names must be here (a test checks).
HANDLERS: dict[str, str] = {
    "tell_parties": "chalicelib.services.exchange_mail:deliver",
    "render_agreements": "chalicelib.services.agreements:deliver",
    "sync_registrations": "chalicelib.services.exchange_summaries:deliver_sync",
    "settle_lump_sum": "chalicelib.services.payments:deliver_settlement",
    "queue_instruction": "chalicelib.services.payments:deliver_instruction",
    "tell_instructed": "chalicelib.services.payments:deliver_instructed_notice",
    "tell_overdue": "chalicelib.services.payments:deliver_overdue_notice",
    "tell_registration_received": "chalicelib.services.registrations:deliver_received",
    "tell_registration_decision": "chalicelib.services.registrations:deliver_decision",
    "carry_out_withdrawal": "chalicelib.services.registrations:deliver_withdrawal",
    "tell_contact_request_received": "chalicelib.services.contacts:deliver_received",
    "tell_contact_request_answered": "chalicelib.services.contacts:deliver_answered",
    "send_digest": "chalicelib.services.preferences:deliver_digest",
    "tell_cv_rejected": "chalicelib.services.cv:deliver_rejected",
    "tell_support_answered": "chalicelib.services.support_queries:deliver_answered",
    "remind_registration": "chalicelib.services.registrations:deliver_reminder",
    "remind_exchange": "chalicelib.services.exchange_mail:deliver_reminder",
}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def handler(name: str) -> Callable[[Item], None]:
    module, _, function = HANDLERS[name].partition(":")
    found: Callable[[Item], None] = getattr(importlib.import_module(module), function)
    return found


def backoff(attempts: int) -> timedelta:
    """Exponential from 30 s, capped at an hour, with full jitter so retries of many items spread out."""
    ceiling = min(_FIRST_BACKOFF * (2 ** max(attempts - 1, 0)), _LONGEST_BACKOFF)
    return _FIRST_BACKOFF / 2 + (ceiling - _FIRST_BACKOFF / 2) * random.random()


def deliver(item_id: str, now: datetime | None = None) -> str:
    """One delivery of an item: "done", "failed" (due again later, or stuck), or "skipped" (delivered
    already, stuck, or being delivered by another invocation now)."""
    moment = now or clock.now()
    claimed = outbox.claim(item_id, _iso(moment), _iso(moment + LEASE))
    if claimed is None:
        return "skipped"
    item, token = claimed
    try:
        handler(item.effect)(item)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        stuck = item.attempts >= MAX_ATTEMPTS
        later = moment if stuck else moment + backoff(item.attempts)
        outbox.failed(item, token, _iso(clock.now()), reason, _iso(later), stuck=stuck)
        extra = {"effect": item.effect, "item": item.id, "attempts": item.attempts}
        if stuck:
            logger.error("effect stuck", extra=extra)
            if get_settings().metrics_enabled:
                metrics.add_metric(name="StuckEffects", unit="Count", value=1)
                metrics.flush_metrics()
        else:
            logger.warning("effect failed; retried later", extra=extra)
        return "failed"
    outbox.done(item, token, _iso(clock.now()))
    return "done"


def redrive(now: datetime | None = None) -> int:
    """The schedule's part: deliver every pending item that is due (its stream delivery failed, died or
    never came); how many were done."""
    moment = now or clock.now()
    return sum(deliver(item_id, moment) == "done" for item_id in outbox.due(_iso(moment), REDRIVE_BATCH))


# --- support: what keeps failing ---------------------------------------------------------------------


class StuckCursor(cursors.CursorKey):
    since: str = Field(pattern=r"^\d{4}-\d\d-\d\dT[0-9:.]+Z$")
    id: str = Field(pattern=r"^[a-z_]+:[A-Za-z0-9_-]+:\d+:[a-z_]+$", max_length=200)


def _admin(principal: Principal) -> None:
    if not principal.has_role("admin"):
        raise Forbidden("Stuck effects are for the service's administrators.")


def view(item: Item) -> dict[str, Any]:
    kind, _, subject_id = item.subject.partition(":")
    return {
        "id": item.id,
        "effect": item.effect,
        "subject": {"kind": kind, "id": subject_id, "version": item.subject_version},
        "attempts": item.attempts,
        "last_error": item.last_error,
        "stuck_at": item.next_at,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }


def list_stuck(
    principal: Principal, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    _admin(principal)
    scope = "ops:stuck"
    after = cursors.decode(scope, cursor, StuckCursor)
    items, last = outbox.stuck_page(limit, (after.since, after.id) if after else None)
    next_cursor = cursors.encode(scope, StuckCursor(since=last[0], id=last[1])) if last else None
    return [view(i) for i in items], next_cursor


def retry_stuck(principal: Principal, item_id: str) -> dict[str, Any]:
    """Support fixed what failed: the item is due again now, its attempts counted afresh, and the
    schedule's next run delivers it (the API never does an effect's work itself: its role stays small)."""
    _admin(principal)
    if not outbox.release_stuck(item_id, clock.now_iso()):
        raise NotFound("No such stuck effect.")
    item = outbox.get(item_id)
    if item is None:
        raise NotFound("No such stuck effect.")
    return view(item)


__all__ = ["Effect", "Item", "deliver", "list_stuck", "redrive", "retry_stuck"]
