"""The support office: a question from any signed-in user (about an exchange they take part in, if it
names one, with a screenshot if they have one), support's answers mailed to the asker (an effect, from
the outbox), the asker's follow-ups, closing; and the screenshot's row of the one uploads mechanism
(services.uploads: the form, the check after upload, the stored copy).

A query's `screenshot` holds, besides what the API shows: `key` (the one upload key its form granted),
`etag` (of the upload the verdict consumed) and `stored_key` (where the accepted bytes are kept).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field

from chalicelib import clock, cursors
from chalicelib.auth import Principal
from chalicelib.errors import NotFound, RuleBroken, version_conflict
from chalicelib.observability import logger
from chalicelib.rules.exchange_flow import Party
from chalicelib.rules.support_query import (
    ASKER,
    CLOSED,
    LIFECYCLE,
    OPEN,
    SUPPORT,
    SupportQueryStatus,
    reply_action,
)
from chalicelib.services import exchanges, uploads
from chalicelib.services.writes import check_version, optimistic
from chalicelib.store import audit
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import support_queries as store
from chalicelib.store.outbox import Effect, Item
from chalicelib.store.writes import StaleVersion

_WHAT = "The support query"
# Who reads every query: the support office, and the service's administrators (who answer none).
_STAFF = ("support", "admin")
ADMIN = "admin"  # a party that reads the query and may take none of its steps
# The parties of an exchange whose users may quote its reference.
_EXCHANGE_PARTIES = frozenset({Party.VO, Party.HO, Party.VOP, Party.HOP})
_SCREENSHOT_SHOWN = ("status", "content_type", "size", "sha256", "reason", "requested_at", "checked_at")


class ListCursor(cursors.CursorKey):
    created_at: str = Field(pattern=r"^\d{4}-\d\d-\d\dT[0-9:.]+Z$")
    id: str = Field(pattern=rf"^{store.ID_PATTERN}$")


# --- who the caller is to a query --------------------------------------------------------------------


def parties(principal: Principal, doc: dict[str, Any]) -> set[str]:
    found = set()
    if principal.user_id == doc["asker_user"]:
        found.add(ASKER)
    if principal.has_role("support"):
        found.add(SUPPORT)
    if principal.has_role("admin"):
        found.add(ADMIN)
    return found


def _load(principal: Principal, query_id: str) -> tuple[dict[str, Any], set[str]]:
    """The query and who the caller is to it; 404 for a query the caller may not see (another user's)."""
    doc = store.get(query_id)
    found = parties(principal, doc) if doc is not None else set()
    if doc is None or not found:
        raise NotFound("No such support query.")
    return doc, found


def view(principal: Principal, doc: dict[str, Any], *, links: bool = False) -> dict[str, Any]:
    """The query as this caller may see it (one it may see: the asker's own, or any for support and
    admin), with the actions it may take now; `links`: a short-lived link to an accepted screenshot."""
    staff = principal.has_role(*_STAFF)
    shown = {
        k: doc[k]
        for k in (
            "id",
            "category",
            "status",
            "message",
            "reference",
            "exchange_id",
            "created_at",
            "updated_at",
            "version",
        )
    }
    shown["asker"] = {"email": doc.get("asker_email"), "roles": doc.get("asker_roles") or []}
    # Which officer answered is the office's to know; the asker hears from "support".
    shown["replies"] = [
        {k: v for k, v in reply.items() if staff or k != "by"} for reply in doc.get("replies") or []
    ]
    shown["screenshot"] = _screenshot_view(doc.get("screenshot"), links)
    shown["actions"] = LIFECYCLE.allowed(SupportQueryStatus(doc["status"]), parties(principal, doc))
    return shown


def _screenshot_view(shot: dict[str, Any] | None, links: bool) -> dict[str, Any] | None:
    if not shot:
        return None
    shown = {k: shot.get(k) for k in _SCREENSHOT_SHOWN}
    if links and shot.get("status") == uploads.ACCEPTED and shot.get("stored_key"):
        shown.update(uploads.download(shot["stored_key"]))
    return shown


# --- use cases ---------------------------------------------------------------------------------------


def ask(
    principal: Principal,
    category: str,
    message: str,
    reference: str | None,
    screenshot: dict[str, Any] | None,
) -> dict[str, Any]:
    """A new open query; with a screenshot announced, the upload form for it (PNG or JPEG), checked after
    upload like every upload. A reference must be one of an exchange the asker is a party to (VO, HO, or
    an officer of its VOP or HOP): any other is refused alike, known or not (422 UNKNOWN_REFERENCE)."""
    row = uploads.row("screenshot")
    file_type = (
        row.rule.requested_type(str(screenshot["content_type"]), int(screenshot["size"]))
        if screenshot
        else None
    )
    exchange_id = _exchange_quoted(principal, reference) if reference else None
    query_id = store.new_id()
    now = clock.now_iso()
    form: dict[str, Any] | None = None
    shot: dict[str, Any] | None = None
    if file_type is not None:
        key, form = uploads.upload_form(row, query_id, file_type)
        shot = {
            "status": uploads.AWAITING_UPLOAD,
            "key": key,
            "content_type": file_type.content_type,
            "requested_at": now,
        }
    doc = {
        "id": query_id,
        "asker_user": principal.user_id,
        "asker_email": principal.email or None,
        "asker_roles": sorted(principal.roles),
        "category": category,
        "status": OPEN,
        "message": message,
        "reference": reference,
        "exchange_id": exchange_id,
        "screenshot": shot,
        "replies": [],
        "created_at": now,
        "updated_at": now,
        "version": None,
    }
    entry = audit.entry(
        store.AUDIT_KIND,
        query_id,
        "support_query.asked",
        actor=principal.user_id,
        roles=principal.roles,
        at=now,
        to_status=OPEN,
    )
    shown = view(principal, store.create(doc, entry))
    if form is not None:
        shown.update(upload=form["upload"], expires_in=form["expires_in"])
    return shown


def _exchange_quoted(principal: Principal, reference: str) -> str:
    exchange = exchange_store.by_reference(reference)
    if exchange is None or not exchanges.parties(principal, exchange) & _EXCHANGE_PARTIES:
        raise RuleBroken(
            "The reference names no exchange you take part in.",
            code="UNKNOWN_REFERENCE",
            details=[{"field": "reference", "message": "the reference of one of your exchanges"}],
        )
    return str(exchange["id"])


def get(principal: Principal, query_id: str) -> dict[str, Any]:
    doc, _ = _load(principal, query_id)
    return view(principal, doc, links=True)


def list_for(
    principal: Principal, status: str | None, category: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's own queries, or every query for support and admin; newest first."""
    asker = None if principal.has_role(*_STAFF) else principal.user_id
    scope = f"support-queries:{principal.user_id}:{status or '*'}:{category or '*'}"
    after = cursors.decode(scope, cursor, ListCursor)
    items, last = store.list_by(
        asker, status, category, limit, (after.created_at, after.id) if after else None
    )
    next_cursor = cursors.encode(scope, ListCursor(created_at=last[0], id=last[1])) if last else None
    return [view(principal, doc) for doc in items], next_cursor


def asked_by(principal: Principal) -> list[dict[str, Any]]:
    """Every query the caller asked, as they see it, newest first (their export)."""
    return [view(principal, doc) for doc in store.all_for_asker(principal.user_id)]


def reply(principal: Principal, query_id: str, message: str, version: int | None) -> dict[str, Any]:
    """Support's answer (mailed to the asker) or the asker's follow-up (the query is open again), kept
    with who wrote it and when."""

    def change(doc: dict[str, Any], action: str, now: str) -> dict[str, Any]:
        replies = list(doc.get("replies") or [])
        author = SUPPORT if action == "answer" else ASKER
        replies.append(
            {"n": len(replies) + 1, "author": author, "by": principal.user_id, "at": now, "message": message}
        )
        return {"replies": replies}

    return _act(principal, query_id, None, version, change)


def close(principal: Principal, query_id: str, version: int | None) -> dict[str, Any]:
    return _act(principal, query_id, "close", version, lambda doc, action, now: {})


# What a step changes besides the status: (the query as read, the action, now) -> the fields it sets.
Change = Callable[[dict[str, Any], str, str], dict[str, Any]]


def _act(
    principal: Principal, query_id: str, action: str | None, version: int | None, change: Change
) -> dict[str, Any]:
    """One step of the table on the query for the caller (`action`, or a reply's: an answer or a
    follow-up), written with its audit entry and the effects it causes; a lost race is retried from a
    fresh read, and a pinned version that is stale answers 409 with the query as it is."""

    def attempt() -> dict[str, Any]:
        doc, found = _load(principal, query_id)
        taken = action or reply_action(found)
        step = LIFECYCLE.step(SupportQueryStatus(doc["status"]), taken, found)
        check_version(version, doc, view(principal, doc), _WHAT)
        now = clock.now_iso()
        updated = {**doc, **change(doc, taken, now), "status": step.status, "updated_at": now}
        replies = updated.get("replies") or []
        effects = tuple(Effect(e, {"reply": len(replies)}) for e in step.effects)
        entry = audit.entry(
            store.AUDIT_KIND,
            query_id,
            f"support_query.{taken}",
            actor=principal.user_id,
            roles=principal.roles,
            at=now,
            from_status=doc["status"],
            to_status=step.status,
            fields=("replies",) if len(replies) != len(doc.get("replies") or []) else (),
        )
        try:
            saved = store.replace(updated, entry, effects)
        except StaleVersion:
            if version is not None:
                current = store.get(query_id) or doc
                raise version_conflict(view(principal, current), _WHAT) from None
            raise
        return view(principal, saved)

    return optimistic(attempt, _WHAT)


# --- effects -----------------------------------------------------------------------------------------


def deliver_answered(item: Item) -> None:
    """The `tell_support_answered` effect: the answer the item names (`reply`), from the query as stored,
    mailed to the address the asker asked from, once per answer (keyed by the version that recorded
    it). An answer stays an answer: a query closed since is still told it."""
    from chalicelib import notifications

    query = store.get(item.subject_id)
    n = item.args.get("reply")
    answer = next(
        (r for r in (query or {}).get("replies") or [] if r.get("n") == n and r.get("author") == SUPPORT),
        None,
    )
    if query is None or answer is None:
        return
    if not query.get("asker_email"):
        logger.info("no address to answer", extra={"support_query": query["id"]})
        return
    notifications.send(
        "support_answered",
        [notifications.Recipient(query["asker_email"], ASKER)],
        context={
            "query": {
                "id": query["id"],
                "category": query["category"],
                "reference": query.get("reference"),
                "question": query["message"],
                "answer": answer["message"],
                "asked_on": str(query["created_at"])[:10],
            }
        },
        key=f"support-query#{query['id']}#{item.subject_version}",
        link=f"/support-queries/{query['id']}",
    )


# --- the screenshot's row of the uploads mechanism ------------------------------------------------------


class _Screenshots:
    """The support row's holder (uploads.Holder): a query holds one grant, its screenshot's key."""

    audit_kind = store.AUDIT_KIND

    def load(self, owner: str) -> dict[str, Any] | None:
        return store.get(owner)

    def grant(self, doc: dict[str, Any], key: str) -> uploads.Grant | None:
        shot = doc.get("screenshot") or {}
        if shot.get("key") != key:
            return None
        if doc["status"] == CLOSED and shot["status"] == uploads.AWAITING_UPLOAD:
            return None  # nobody will look at a file that arrives after the query was closed
        return uploads.Grant(
            status=shot["status"],
            key=key,
            etag=shot.get("etag"),
            sha256=shot.get("sha256"),
            stored_key=shot.get("stored_key"),
            checked_at=shot.get("checked_at"),
        )

    def settle(self, doc: dict[str, Any], verdict: uploads.Verdict) -> bool:
        old = doc.get("screenshot") or {}
        shot: dict[str, Any] = {
            "status": verdict.status,
            "key": verdict.key,
            "etag": verdict.etag,
            "content_type": verdict.content_type or old.get("content_type"),
            "requested_at": old.get("requested_at"),
            "checked_at": verdict.checked_at,
        }
        if verdict.status == uploads.ACCEPTED:
            shot.update(size=verdict.size, sha256=verdict.sha256, stored_key=verdict.stored_key)
        else:
            shot["reason"] = verdict.reason
        updated = {**doc, "screenshot": shot, "updated_at": verdict.checked_at}
        entry = audit.entry(
            store.AUDIT_KIND,
            doc["id"],
            f"screenshot.{verdict.status}",
            actor=uploads.CHECKER,
            roles=None,
            at=verdict.checked_at,
            from_status=doc["status"],
            to_status=doc["status"],
            fields=("screenshot",),
        )
        try:
            store.replace(updated, entry)
        except StaleVersion:
            return False
        return True

    def keeps(self, doc: dict[str, Any], stored_key: str) -> str | None:
        shot = doc.get("screenshot") or {}
        if shot.get("status") == uploads.ACCEPTED and shot.get("stored_key") == stored_key:
            return str(shot["sha256"])
        return None


SCREENSHOTS = _Screenshots()
