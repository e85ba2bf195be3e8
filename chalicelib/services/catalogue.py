"""Catalogue and matches: the index of accepted registrations, kept current by the registrations stream.

Flow: a registration change on the stream notes the registration as changed
(`note_registration_change`); the scheduled function applies the noted changes to the documents of
the last build (reading only those registrations), rebuilds the index from them and writes its
snapshot to S3 (a full read of the catalogue only for a new snapshot format, a missing base, or on
demand); a request revalidates its in-memory copy with one conditional GET, loading the snapshot's
arrays when it changed (no rebuild on the request path), and reads the caller's registration with one
Query, so a matches or catalogue request makes two AWS calls whatever the catalogue's size.

Both lists page with the signed cursors of chalicelib.cursors: a matches cursor is bound to the
caller's registration and the role filter, a catalogue cursor to the filters.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import Field

from chalicelib import cursors
from chalicelib.auth import Principal
from chalicelib.errors import Forbidden, InvalidInput, RuleBroken
from chalicelib.rules import RuleViolation
from chalicelib.rules.eligibility import check_availability
from chalicelib.rules.matching.query import (
    POSITION_NAME_CHARS,
    CataloguePosition,
    CatalogueQuery,
    MatchPosition,
)
from chalicelib.rules.registration import ACCEPTED
from chalicelib.store import catalogue as store
from chalicelib.store import registrations as registration_store

if TYPE_CHECKING:
    from chalicelib.rules.matching.index import MatchIndex
    from chalicelib.rules.matching.scoring import Match

# The index, scoring and catalogue rules need numpy: they are imported by the functions that use
# them, so the other Lambda functions (which all import this module through app.py) never load it.

_lock = threading.Lock()
_cached: tuple[str, MatchIndex] | None = None


class MatchesCursor(cursors.CursorKey):
    """After the match with this score (milli-points) and registration id, in the caller's ranking."""

    score_milli: int = Field(ge=0, le=1000)
    # Registration ids are "reg_" and 32 hex digits; the demo population's are shorter.
    id: str = Field(min_length=1, max_length=64)


class CatalogueCursor(cursors.CursorKey):
    """After the card with this folded organisation name (cut when `partial`) and id."""

    name: str = Field(max_length=POSITION_NAME_CHARS)
    id: str = Field(min_length=1, max_length=64)
    partial: bool


def _in_catalogue(document: dict[str, Any] | None) -> bool:
    return document is not None and document.get("status") == ACCEPTED


def note_registration_change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Called for every stream record: note the registration when the catalogue's content could have
    changed (it was or is accepted)."""
    if _in_catalogue(old) or _in_catalogue(new):
        store.mark_changed(str((new or old or {})["id"]))


def rebuild_index_if_stale(full: bool = False) -> int:
    """Bring the snapshot up to date when changes were noted (or `full`, or its format changed);
    returns the entries of the new snapshot, 0 when nothing was to do.

    Incremental: the documents of the last build, minus the changed registrations, plus those of
    them still accepted, read by id. DynamoDB reads follow the changes, not the catalogue's size.
    """
    from chalicelib.rules.matching import snapshot
    from chalicelib.rules.matching.index import MatchIndex

    counted, built, changed, built_format, rebuild_all = store.index_state()
    full = full or rebuild_all or built_format != snapshot.FORMAT_VERSION
    if not full and built is not None and built >= counted:
        return 0
    base = None if full else store.get_documents(snapshot.FORMAT_VERSION)
    if base is None:
        full = True
        documents = store.read_accepted()
    else:
        by_id = {document["id"]: document for document in base}
        for registration_id in changed:
            by_id.pop(registration_id, None)
        for document in store.read_by_ids(changed):
            if _in_catalogue(document):
                by_id[document["id"]] = document
        documents = list(by_id.values())
    index = MatchIndex.build(documents)
    store.put_index(snapshot.FORMAT_VERSION, snapshot.dump(index))
    store.put_documents(documents, snapshot.FORMAT_VERSION)
    # Changes noted while building are not lost: `counted` is the count seen before reading.
    store.record_built(counted, changed, snapshot.FORMAT_VERSION, full)
    return len(documents)


def current_index() -> MatchIndex:
    """The in-memory index, revalidated against S3 (one conditional GET); a changed snapshot is loaded
    as stored, never rebuilt here."""
    from chalicelib.rules.matching import snapshot
    from chalicelib.rules.matching.index import MatchIndex

    global _cached
    etag = _cached[0] if _cached else None
    fresh = store.get_index(snapshot.FORMAT_VERSION, etag)
    with _lock:
        if fresh is not None:
            new_etag, data = fresh
            _cached = (new_etag, snapshot.load(data) if data else MatchIndex.build([]))
        assert _cached is not None
        return _cached[1]


def _accepted_registration_of(principal: Principal) -> dict[str, Any]:
    registration = registration_store.find_for_user(principal.user_id)
    if registration is None or registration.get("status") != ACCEPTED:
        raise Forbidden(
            "Only participants whose registration was accepted may see the catalogue and matches.",
            code="NOT_ACCEPTED",
        )
    return registration


def _matches_scope(seeker: dict[str, Any], role: str | None) -> str:
    # The ranking is the caller's and the role filter's: a cursor is good for that list only.
    return f"matches:{seeker['id']}:{role or 'any'}"


def matches_page(
    principal: Principal, limit: int, role: str | None, cursor: str | None
) -> tuple[list[Match], str | None]:
    """One page of the caller's matches, best first, and the cursor of the next (None on the last)."""
    from chalicelib.rules.matching import scoring

    seeker = _accepted_registration_of(principal)
    scope = _matches_scope(seeker, role)
    key = cursors.decode(scope, cursor, MatchesCursor)
    after = MatchPosition(key.score_milli, key.id) if key is not None else None
    page, next_after = scoring.matches_page(seeker, current_index(), limit, role, after)
    if next_after is None:
        return page, None
    return page, cursors.encode(scope, MatchesCursor(score_milli=next_after.milli, id=next_after.id))


def _catalogue_scope(query: CatalogueQuery) -> str:
    # The catalogue is the same for every participant, so a cursor is bound to the filters only.
    return "catalogue:" + json.dumps(dataclasses.astuple(query), default=str, separators=(",", ":"))


def catalogue_page(
    principal: Principal, query: CatalogueQuery, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of catalogue cards passing the filters, and the cursor of the next (None on the last)."""
    from chalicelib.rules.matching import catalogue as browsing

    _accepted_registration_of(principal)
    try:
        check_availability(_day(query.available_from), _day(query.available_to))
    except RuleViolation as violation:
        raise RuleBroken.from_violations([violation]) from violation
    scope = _catalogue_scope(query)
    key = cursors.decode(scope, cursor, CatalogueCursor)
    after = CataloguePosition(key.name, key.id, key.partial) if key is not None else None
    try:
        cards, next_after = browsing.catalogue_page(current_index(), query, limit=limit, after=after)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="INVALID_QUERY") from exc
    if next_after is None:
        return cards, None
    next_key = CatalogueCursor(name=next_after.name, id=next_after.id, partial=next_after.partial)
    return cards, cursors.encode(scope, next_key)


def _day(value: str | date | None) -> date | None:
    # The routes give dates; a caller inside the app may give the ISO text the rules also accept.
    return date.fromisoformat(value) if isinstance(value, str) else value
