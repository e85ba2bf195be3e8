"""The transactional outbox: the effects of a change, staged in the change's own transaction (no extra
AWS call), and the bookkeeping of their delivery: claimed by one delivery at a time, done, retried
later, or given up on (`stuck`) for support to see.

An item's id names its subject, the version the change wrote and the effect, so one change stages an
effect once and a replayed change (which fails its version condition) stages nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib import clock
from chalicelib.store import paging
from chalicelib.store.models import OutboxModel

PENDING, STUCK = "pending", "stuck"
REDRIVE_AFTER = timedelta(minutes=2)
# How long a delivered item stays readable (what was sent, when, after how many attempts) before the
# table's TTL deletes it: long enough for a participant's question about a mail to reach support.
DONE_KEPT_FOR = timedelta(days=30)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Effect:
    """What a change causes, by name, with what its delivery needs to know beyond the stored object."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """A staged effect as stored: the subject it is about and the version of it that caused it."""

    id: str
    effect: str
    subject: str
    subject_version: int
    args: dict[str, Any]
    queue: str | None
    attempts: int
    lease: str | None
    last_error: str | None
    created_at: str
    updated_at: str
    next_at: str | None

    @property
    def subject_id(self) -> str:
        return self.subject.partition(":")[2]


def item_id(subject: str, version: int, effect: str) -> str:
    return f"{subject}:{version}:{effect}"


def _item(model: OutboxModel) -> Item:
    return Item(
        id=model.id,
        effect=model.effect,
        subject=model.subject,
        subject_version=int(model.subject_version),
        args=dict(model.args or {}),
        queue=model.queue,
        attempts=int(model.attempts or 0),
        lease=model.lease,
        last_error=model.last_error,
        created_at=model.created_at,
        updated_at=model.updated_at,
        next_at=model.next_at,
    )


def stage(tx: Any, subject: str, version: int, effects: list[Effect] | tuple[Effect, ...]) -> None:
    """Add the effects' items to the change's transaction (`version`: the one the change writes). The
    outbox's stream delivers them at once; the schedule takes over for any not delivered after
    REDRIVE_AFTER (the stream failed, gave up, or the delivery died)."""
    moment = clock.now()
    now, redrive_at = _iso(moment), _iso(moment + REDRIVE_AFTER)
    for effect in effects:
        model = OutboxModel(
            id=item_id(subject, version, effect.name),
            effect=effect.name,
            subject=subject,
            subject_version=version,
            args=effect.args or None,
            queue=PENDING,
            next_at=redrive_at,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        tx.save(model, condition=OutboxModel.id.does_not_exist())


def _conditional(exc: UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def claim(item_id: str, now: str, until: str) -> tuple[Item, str] | None:
    """Take a pending item for one delivery until `until` (one UpdateItem, which also reads it); None
    when it is delivered, stuck, or held by another delivery whose lease has not run out."""
    token = uuid.uuid4().hex
    model = OutboxModel(id=item_id)
    free = OutboxModel.lease_until.does_not_exist() | (OutboxModel.lease_until < now)
    try:
        model.update(
            actions=[
                OutboxModel.lease.set(token),
                OutboxModel.lease_until.set(until),
                OutboxModel.attempts.add(1),
                OutboxModel.updated_at.set(now),
            ],
            condition=(OutboxModel.queue == PENDING) & free,
        )
    except UpdateError as exc:
        if _conditional(exc):
            return None
        raise
    return _item(model), token


def done(item: Item, token: str, now: str) -> None:
    """Delivered: the item leaves the pending index, and what it was given goes (a withdrawal's item
    names the user it was for; nothing reads a done item's arguments again). A lease lost meanwhile
    (the delivery outlived it) leaves the item to the delivery that holds it now."""
    try:
        OutboxModel(id=item.id).update(
            actions=[
                OutboxModel.args.remove(),
                OutboxModel.queue.remove(),
                OutboxModel.next_at.remove(),
                OutboxModel.lease.remove(),
                OutboxModel.lease_until.remove(),
                OutboxModel.done_at.set(now),
                OutboxModel.expires_at.set(_parse(now) + DONE_KEPT_FOR),
                OutboxModel.updated_at.set(now),
            ],
            condition=OutboxModel.lease == token,
        )
    except UpdateError as exc:
        if not _conditional(exc):
            raise


def failed(item: Item, token: str, now: str, error: str, next_at: str, *, stuck: bool) -> None:
    """A failed attempt: due again at `next_at`, or given up on (stuck) with the reason."""
    try:
        OutboxModel(id=item.id).update(
            actions=[
                OutboxModel.queue.set(STUCK if stuck else PENDING),
                OutboxModel.next_at.set(next_at),
                OutboxModel.lease.remove(),
                OutboxModel.lease_until.remove(),
                OutboxModel.last_error.set(error[:500]),
                OutboxModel.updated_at.set(now),
            ],
            condition=OutboxModel.lease == token,
        )
    except UpdateError as exc:
        if not _conditional(exc):
            raise


def release_stuck(item_id: str, now: str) -> bool:
    """Put a stuck item back to be delivered at once, its attempts counted afresh; False if not stuck."""
    try:
        OutboxModel(id=item_id).update(
            actions=[
                OutboxModel.queue.set(PENDING),
                OutboxModel.next_at.set(now),
                OutboxModel.attempts.set(0),
                OutboxModel.updated_at.set(now),
            ],
            condition=OutboxModel.queue == STUCK,
        )
    except UpdateError as exc:
        if _conditional(exc):
            return False
        raise
    return True


def get(item_id: str) -> Item | None:
    try:
        return _item(OutboxModel.get(item_id, consistent_read=True))
    except DoesNotExist:
        return None


def due(now: str, limit: int) -> list[str]:
    """Ids of pending items due by `now`, oldest due first (one Query of the sparse index)."""
    query = OutboxModel.by_queue.query(PENDING, range_key_condition=OutboxModel.next_at <= now, limit=limit)
    return [m.id for m in query]


def overdue_count(before: str, limit: int) -> int:
    """How many pending items were due before `before`, up to `limit` (a COUNT Query of the sparse
    index: only pending and stuck items are in it, so it never reads the delivered ones)."""
    return int(
        OutboxModel.by_queue.count(PENDING, range_key_condition=OutboxModel.next_at < before, limit=limit)
    )


def _since(model: OutboxModel) -> tuple[str, str]:
    return (model.next_at or "", model.id)  # a stuck item's next_at is when it was given up on


def stuck_page(limit: int, after: tuple[str, str] | None) -> tuple[list[Item], tuple[str, str] | None]:
    """One page of the stuck items, the most recently given up on first; `after` is (given up at, id)
    of the previous page's last item."""
    query = OutboxModel.by_queue.query(
        STUCK,
        range_key_condition=OutboxModel.next_at <= after[0] if after else None,
        scan_index_forward=False,
        page_size=limit + 1,
    )
    page, last = paging.page_of(paging.after_cursor(query, after, limit, key=_since), limit, key=_since)
    return [_item(m) for m in page], last
