"""Contact requests between accepted visitors and hosts: send, list, accept, decline, notify."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from chalicelib import cursors
from chalicelib.auth import Principal
from chalicelib.clock import now_iso
from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken, version_conflict
from chalicelib.observability import logger
from chalicelib.rules import RuleViolation
from chalicelib.rules.contact import check_open_requests, contact_pairing
from chalicelib.rules.contact_request import LIFECYCLE, PENDING, ContactRequestStatus
from chalicelib.rules.registration import ACCEPTED as REGISTRATION_ACCEPTED
from chalicelib.store import audit, mail
from chalicelib.store import contacts as store
from chalicelib.store import registrations as registration_store
from chalicelib.store.models import ContactRequestModel
from chalicelib.store.writes import StaleVersion


class BoxCursor(cursors.CursorKey):
    created_at: str = Field(pattern=r"^\d{4}-\d\d-\d\dT[0-9:.]+Z$")
    id: str = Field(pattern=r"^cr_[0-9a-f]{32}$")


def _own_accepted_registration(principal: Principal) -> dict[str, Any]:
    registration = registration_store.get_for_user(principal.user_id)
    if registration is None or registration.get("status") != REGISTRATION_ACCEPTED:
        raise Forbidden("Only accepted participants may exchange contact requests.", code="NOT_ACCEPTED")
    return registration


def _summary(registration: dict[str, Any]) -> dict[str, Any]:
    organisation = registration.get("organisation") or {}
    return {
        "registration_id": registration["id"],
        "organisation_name": organisation.get("name"),
        "country": organisation.get("country"),
        "roles": list(registration.get("roles") or []),
    }


def public_view(request: dict[str, Any]) -> dict[str, Any]:
    """What either party sees: user ids stay internal."""
    return {k: v for k, v in request.items() if k not in ("from_user", "to_user")}


def send(principal: Principal, to: str, message: str) -> dict[str, Any]:
    # Three calls: the caller's guard (its registration's id), both registrations in one read, and the
    # transaction, whose condition on the open-request counter enforces the limit (the counter is read
    # only to word a refusal).
    own_id = registration_store.registration_id_for_user(principal.user_id)
    found = registration_store.get_many([i for i in (own_id, to) if i])
    sender = found.get(own_id or "")
    if sender is None or sender.get("status") != REGISTRATION_ACCEPTED:
        raise Forbidden("Only accepted participants may exchange contact requests.", code="NOT_ACCEPTED")
    recipient = found.get(to)
    if recipient is None or recipient.get("status") != REGISTRATION_ACCEPTED:
        raise NotFound("No such participant in the catalogue.")
    try:
        contact_pairing(sender, recipient)
    except RuleViolation as violation:
        raise RuleBroken.from_violations([violation]) from violation
    now = now_iso()
    item = ContactRequestModel(
        id=f"cr_{uuid.uuid4().hex}",
        from_registration=sender["id"],
        to_registration=recipient["id"],
        from_user=sender["user_id"],
        to_user=recipient["user_id"],
        status=PENDING,
        message=message,
        from_summary=_summary(sender),
        to_summary=_summary(recipient),
        created_at=now,
        updated_at=now,
    )
    entry = audit.entry(
        store.AUDIT_KIND,
        item.id,
        "contact_request.created",
        actor=principal.user_id,
        roles=principal.roles,
        as_role="participant",
        at=now,
        to_status=PENDING,
    )
    try:
        created = store.create(item, entry)
    except store.DuplicateRequest as exc:
        raise Conflict(
            "You already have an open request to this participant.", code="DUPLICATE_REQUEST"
        ) from exc
    except store.TooManyOpen as exc:
        # The count was below the limit when checked but another request took the last slot.
        raise RuleBroken.from_violations([_too_many(store.open_count(sender["id"]))]) from exc
    return public_view(created)


def _too_many(open_sent: int) -> RuleViolation:
    try:
        check_open_requests(open_sent)
    except RuleViolation as violation:
        return violation
    return RuleViolation("TOO_MANY_OPEN_REQUESTS", "Too many open contact requests; try again.")


def list_box(
    principal: Principal, box: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    own = _own_accepted_registration(principal)
    # The cursor is bound to the box and the caller's registration: one from another box or user fails.
    scope = f"contact-requests:{box}:{own['id']}"
    after = cursors.decode(scope, cursor, BoxCursor)
    items, last = store.list_for(own["id"], box, limit, (after.created_at, after.id) if after else None)
    next_cursor = cursors.encode(scope, BoxCursor(created_at=last[0], id=last[1])) if last else None
    return [public_view(i) for i in items], next_cursor


def _parties(principal: Principal, request: dict[str, Any]) -> set[str]:
    return {
        party
        for party, user in (("sender", request["from_user"]), ("recipient", request["to_user"]))
        if user == principal.user_id
    }


def _move(principal: Principal, request_id: str, action: str, reason: str | None, version: int | None) -> Any:
    request = store.get(request_id)
    if request is None:
        raise NotFound("No such contact request.")
    status = LIFECYCLE.check(ContactRequestStatus(request["status"]), action, _parties(principal, request))
    if version is not None and version != request["version"]:
        raise version_conflict(public_view(request), "The request")
    now = now_iso()
    entry = audit.entry(
        store.AUDIT_KIND,
        request_id,
        f"contact_request.{status}",
        actor=principal.user_id,
        roles=principal.roles,
        as_role="participant",
        at=now,
        from_status=request["status"],
        to_status=status,
    )
    try:
        return public_view(store.close(request, status, reason, now, entry))
    except StaleVersion:
        # Answered or changed in between: the lifecycle says why, from what is there now.
        current = store.get(request_id) or request
        LIFECYCLE.check(ContactRequestStatus(current["status"]), action, _parties(principal, current))
        raise version_conflict(public_view(current), "The request") from None


def accept(principal: Principal, request_id: str, version: int | None) -> dict[str, Any]:
    return _move(principal, request_id, "accept", None, version)


def decline(principal: Principal, request_id: str, reason: str, version: int | None) -> dict[str, Any]:
    return _move(principal, request_id, "decline", reason, version)


def handle_stream_change(old_image: dict[str, Any] | None, new_image: dict[str, Any] | None) -> None:
    """E-mail the recipient of a new request, and the sender when it is answered."""
    if not new_image:
        return
    new = store.document_from_image(new_image)
    old_status = store.document_from_image(old_image)["status"] if old_image else None
    if old_status is None and new["status"] == PENDING:
        to_notify, subject, text = (
            new["to"],
            "ClusterXchange: a new contact request",
            f"{new['sender'].get('organisation_name')} ({new['sender'].get('country')}) would like to "
            f"get in touch about an exchange:\n\n{new['message']}\n\nAnswer it in ClusterXchange.",
        )
    elif old_status == PENDING and new["status"] != PENDING:
        outcome = str(new["status"])
        text = f"{new['recipient'].get('organisation_name')} {outcome} your contact request."
        if new.get("reason"):
            text += f"\n\nReason given: {new['reason']}"
        to_notify, subject = new["from"], f"ClusterXchange: your contact request was {outcome}"
    else:
        return
    registration = registration_store.get(to_notify)
    email = ((registration or {}).get("representative") or {}).get("email")
    if not email:
        logger.info("no address to notify", extra={"registration_id": to_notify})
        return
    # Once per request and status, so a redelivered stream record sends nothing twice.
    mail.send_once(f"contact-request#{new['id']}#{new['status']}", email, subject, text)
