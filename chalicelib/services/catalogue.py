"""Catalogue and matches: the index of accepted registrations, kept current by the registrations stream.

Flow: a registration change on the stream counts a change (`note_registration_change`); the
scheduled function rebuilds the S3 snapshot when changes were counted; a request revalidates its
in-memory copy with one conditional GET and reads the caller's registration with one Query, so a
matches or catalogue request makes two AWS calls whatever the catalogue's size.
"""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.auth import Principal
from chalicelib.errors import BadRequest, Forbidden
from chalicelib.rules import matching
from chalicelib.rules.matching import CatalogueQuery, Match, MatchIndex
from chalicelib.store import catalogue as store
from chalicelib.store import registrations as registration_store

_lock = threading.Lock()
_cached: tuple[str, MatchIndex] | None = None


def _in_catalogue(document: dict[str, Any] | None) -> bool:
    return bool(document) and document.get("status") == "accepted"  # type: ignore[union-attr]


def note_registration_change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Called for every stream record: count it when the catalogue's content could have changed."""
    if _in_catalogue(old) or _in_catalogue(new):
        store.mark_changed()


def rebuild_index_if_stale() -> int:
    """Rebuild the snapshot when changes were counted since the last build; returns entries or 0."""
    counted, built = store.index_state()
    if built is not None and built >= counted:
        return 0
    documents = store.read_accepted()
    store.put_snapshot(documents)
    # Changes counted while building are not lost: `built` is the count seen before reading.
    store.record_built(counted)
    return len(documents)


def current_index() -> MatchIndex:
    """The in-memory index, revalidated against S3 (one conditional GET)."""
    global _cached
    etag = _cached[0] if _cached else None
    fresh = store.get_snapshot(etag)
    with _lock:
        if fresh is not None:
            new_etag, documents = fresh
            _cached = (new_etag, MatchIndex.build(documents))
        assert _cached is not None
        return _cached[1]


def _accepted_registration_of(principal: Principal) -> dict[str, Any]:
    registration = registration_store.find_for_user(principal.user_id)
    if registration is None or registration.get("status") != "accepted":
        raise Forbidden(
            "Only participants whose registration was accepted may see the catalogue and matches.",
            code="NOT_ACCEPTED",
        )
    return registration


def best_matches(principal: Principal, limit: int, role: str | None) -> list[Match]:
    seeker = _accepted_registration_of(principal)
    return matching.best_matches(seeker, current_index(), limit=limit, role=role)


def catalogue_page(
    principal: Principal, query: CatalogueQuery, limit: int, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    _accepted_registration_of(principal)
    try:
        return matching.catalogue_page(current_index(), query, limit=limit, after=after)
    except ValueError as exc:
        raise BadRequest(str(exc), code="INVALID_QUERY") from exc
