"""The alumni directory: a participant of a completed exchange opts in (with the contact address it
chooses to show) or out, at once; accepted participants, partnerships, support and admin read the
directory. The entry lives on the registration (rules.alumni says what it shows), so an edit of the
organisation shows in it and a withdrawal removes it with the rest."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from chalicelib import clock, cursors
from chalicelib.auth import Principal
from chalicelib.errors import Forbidden, NotFound, RuleBroken, version_conflict
from chalicelib.rules import RuleViolation
from chalicelib.rules import alumni as rules
from chalicelib.rules.registration import ACCEPTED
from chalicelib.services.writes import optimistic
from chalicelib.store import audit
from chalicelib.store import registrations as store

_WHAT = "The alumni entry"
# Who reads the directory besides accepted participants.
_STAFF = ("partnership", "support", "admin")


class DirectoryCursor(cursors.CursorKey):
    """After the entry with this sort key ("<country>#<folded name>#<entry id>") in the directory."""

    after: str = Field(min_length=1, max_length=400)


def _registration_of(principal: Principal) -> dict[str, Any]:
    doc = store.get_for_user(principal.user_id)
    if doc is None:
        raise NotFound("You have no registration.")
    return doc


def _new_entry_id() -> str:
    return f"alu_{uuid.uuid4().hex}"


def _records(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The registration's completed exchanges: those its summary holds (kept current by the exchanges'
    own effect) and those its exchanges' indexes find now (exchanges completed before the summary kept
    them)."""
    from chalicelib.store import exchanges as exchange_store

    found = rules.completed_records(doc["id"], exchange_store.all_for_user(doc["user_id"]))
    return rules.with_completed((doc.get("exchanges") or {}).get("completed"), found)


def _write(doc: dict[str, Any], principal: Principal, action: str, fields: tuple[str, ...]) -> dict[str, Any]:
    entry = audit.entry(
        store.AUDIT_KIND,
        doc["id"],
        f"registration.{action}",
        actor=principal.user_id,
        roles=principal.roles,
        at=doc["updated_at"],
        from_status=doc["status"],
        to_status=doc["status"],
        fields=fields,
    )
    return store.replace(doc, entry)


def my_entry(principal: Principal) -> dict[str, Any]:
    doc = _registration_of(principal)
    if not doc.get("alumni"):
        raise NotFound("You are not in the alumni directory.", code="NOT_IN_DIRECTORY")
    return rules.entry_view(doc)


def join(principal: Principal, public_contact: str | None, version: int | None) -> dict[str, Any]:
    """List the caller in the directory, or change the contact its entry shows. Idempotent: the same
    contact again writes nothing. A stale `version` (the entry's) is 409 with the entry as it is."""

    def attempt() -> dict[str, Any]:
        doc = _registration_of(principal)
        current = doc.get("alumni")
        if version is not None and (current is None or current["version"] != version):
            raise version_conflict(rules.entry_view(doc) if current else {}, _WHAT)
        records = _records(doc)
        try:
            rules.check_may_join(records)
        except RuleViolation as violation:
            raise RuleBroken.from_violations([violation]) from violation
        summary = {**(doc.get("exchanges") or {}), "completed": records}
        unchanged = summary == (doc.get("exchanges") or {})
        if current is not None and current.get("public_contact") == public_contact and unchanged:
            return rules.entry_view(doc)
        now = clock.now_iso()
        entry = {
            "id": current["id"] if current else _new_entry_id(),
            "public_contact": public_contact,
            "created_at": current["created_at"] if current else now,
            "updated_at": now,
            "version": current["version"] + 1 if current else 1,
        }
        changed = {**doc, "alumni": entry, "exchanges": summary, "updated_at": now}
        action = "alumni_updated" if current else "alumni_joined"
        return rules.entry_view(_write(changed, principal, action, ("alumni", "exchanges")))

    return optimistic(attempt, _WHAT)


def leave(principal: Principal) -> None:
    """Take the caller's entry out of the directory, at once; nothing to do when it has none."""

    def attempt() -> None:
        doc = _registration_of(principal)
        if not doc.get("alumni"):
            return
        now = clock.now_iso()
        _write({**doc, "alumni": None, "updated_at": now}, principal, "alumni_left", ("alumni",))

    optimistic(attempt, _WHAT)


def _may_read(principal: Principal) -> None:
    if principal.has_role(*_STAFF):
        return
    registration = store.find_for_user(principal.user_id) if principal.has_role("participant") else None
    if registration is None or registration.get("status") != ACCEPTED:
        raise Forbidden(
            "Only accepted participants, partnerships and the programme's staff may read the alumni "
            "directory.",
            code="NOT_ACCEPTED",
        )


def directory(
    principal: Principal, country: str | None, ecosystem: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the directory, by country and organisation name, and the next page's cursor."""
    _may_read(principal)
    scope = f"alumni:{country or ''}:{ecosystem or ''}"
    position = cursors.decode(scope, cursor, DirectoryCursor)

    def keep(entry: dict[str, Any]) -> bool:
        return ecosystem is None or ecosystem in (entry["organisation"].get("ecosystems") or [])

    page, after = store.alumni_page(country, position.after if position else None, limit, keep)
    next_cursor = cursors.encode(scope, DirectoryCursor(after=after)) if after else None
    return [rules.entry_view(entry) for entry in page], next_cursor
