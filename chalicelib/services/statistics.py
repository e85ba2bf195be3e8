"""The programme's statistics and a partnership's (API.md "Support, finance, statistics"): read from the
scope's counter item in one GetItem; kept current by the counting function from the registrations',
exchanges' and payments' streams, each record counted once (rules.statistics says what counts); and
recounted from the stored objects when a record the streams gave up on left them behind."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from chalicelib import clock
from chalicelib.auth import Principal
from chalicelib.errors import Forbidden, NotFound
from chalicelib.rules import statistics as rules
from chalicelib.rules.statistics import PROGRAMME, Kind, Scope
from chalicelib.services import reference as reference_service
from chalicelib.services.writes import optimistic
from chalicelib.settings import get_settings
from chalicelib.store import statistics as store

# Who reads every scope; a partnership's officers read their own.
SUPERVISORS = ("admin", "support")
# A record's marker is kept this long: longer than a stream keeps a record (24 hours) with its retries,
# so a replay always finds it; then the table's TTL deletes it.
COUNTED_KEPT_FOR = timedelta(days=7)
PROGRAMME_NAME = "all"  # the programme's scope, as the API names it


# --- reading ------------------------------------------------------------------------------------------


def _view(scope: Scope) -> dict[str, Any]:
    counters, updated_at = store.read(scope)
    shown = PROGRAMME_NAME if scope is PROGRAMME else scope
    return {"scope": shown, **rules.figures(counters), "updated_at": updated_at}


def for_programme(principal: Principal) -> dict[str, Any]:
    """The programme as a whole (admin and support)."""
    if not principal.has_role(*SUPERVISORS):
        raise Forbidden("The programme's statistics are for admin and support.")
    return _view(PROGRAMME)


def for_partnership(principal: Principal, partnership_id: str) -> dict[str, Any]:
    """One partnership's (its officers, admin and support); another partnership's officers are told it
    does not exist, as for anything they may not see."""
    if principal.has_role(*SUPERVISORS):
        if partnership_id not in reference_service.partnership_ids():
            raise NotFound("No such partnership.")
    elif not (principal.has_role("partnership") and principal.partnership_id == partnership_id):
        raise NotFound("No such partnership.")
    return _view(partnership_id)


# --- counting (the streams) ---------------------------------------------------------------------------


def _table_of(source_arn: str) -> str:
    """The short name of the counted table a stream record comes from (its ARN names the table)."""
    name = source_arn.partition(":table/")[2].partition("/stream/")[0]
    settings = get_settings()
    for table in store.counted_tables():
        if settings.table_name(table) == name:
            return table
    raise ValueError(f"not a counted table's stream: {name!r}")


def count_record(source_arn: str, old_image: dict[str, Any] | None, new_image: dict[str, Any] | None) -> bool:
    """Apply one stream record's change to the counters, once: False when it changes none, or was
    counted already (a replay). The marker names the object and the version the record wrote (a
    deletion: the version it removed)."""
    table = _table_of(source_arn)
    old, new = store.document_from_image(table, old_image), store.document_from_image(table, new_image)
    changes = rules.delta(Kind(table), old, new)
    if not changes:
        return False
    if new is not None:
        object_id, version = new["id"], str(new["version"])
    else:
        assert old is not None  # a record has one image at least
        object_id, version = old["id"], f"removed-{old['version']}"
    marker = store.marker_key(table, object_id, version)

    def attempt() -> bool:
        now = clock.now()
        return store.add(marker, changes, clock.now_iso(), now + COUNTED_KEPT_FOR)

    # Records of other objects move the same counter items: a transaction in flight on one is waited for.
    return optimistic(attempt, "The statistics")


# --- the recount (an admin's command) -----------------------------------------------------------------


def recount() -> dict[str, int]:
    """Every scope's counters worked out again from the stored objects (read through their indexes) and
    written afresh: after a stream record was given up on. Run it while nothing changes (the counting
    function's changes meanwhile may be lost or counted twice). How many objects of each kind it read."""
    partnerships = sorted(p.id for p in reference_service.partnerships(fresh=True))
    read: Counter[str] = Counter()

    def objects() -> Iterator[tuple[Kind, dict[str, Any]]]:
        stored = (
            *((Kind.REGISTRATION, store.registrations_of(p)) for p in partnerships),
            (Kind.EXCHANGE, store.every_exchange()),
            (Kind.PAYMENT, store.every_payment()),
        )
        for kind, docs in stored:
            for doc in docs:
                read[kind] += 1
                yield kind, doc

    totals = rules.total(objects())
    now = clock.now_iso()
    for scope in {PROGRAMME, *partnerships, *totals}:
        store.replace(scope, totals.get(scope, {}), now)
    return {kind.value: read[kind] for kind in Kind}
