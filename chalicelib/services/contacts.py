"""Contact requests between accepted visitors and hosts: send, list, accept, decline, and the mail they
cause (effects, delivered from the outbox: the recipient of a new request, the sender of its answer)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Field

from chalicelib import cursors, notifications
from chalicelib.auth import Principal
from chalicelib.clock import now_iso
from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken, version_conflict
from chalicelib.observability import logger
from chalicelib.rules import RuleViolation, contact_request
from chalicelib.rules.contact import MAX_OPEN_REQUESTS, check_open_requests, contact_pairing
from chalicelib.rules.contact_request import LIFECYCLE, PENDING, ContactRequestStatus
from chalicelib.rules.registration import ACCEPTED as REGISTRATION_ACCEPTED
from chalicelib.rules.registration import ERASED
from chalicelib.store import audit
from chalicelib.store import contacts as store
from chalicelib.store import registrations as registration_store
from chalicelib.store.models import ContactRequestModel
from chalicelib.store.outbox import Effect, Item
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
        created = store.create(
            item,
            entry,
            max_open=MAX_OPEN_REQUESTS,
            effects=tuple(Effect(e) for e in contact_request.ON_CREATE),
        )
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
    step = LIFECYCLE.step(ContactRequestStatus(request["status"]), action, _parties(principal, request))
    status = step.status
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
        effects = tuple(Effect(e, {"status": str(status)}) for e in step.effects)
        return public_view(store.close(request, status, reason, now, entry, effects))
    except StaleVersion:
        # Answered or changed in between: the lifecycle says why, from what is there now.
        current = store.get(request_id) or request
        LIFECYCLE.check(ContactRequestStatus(current["status"]), action, _parties(principal, current))
        raise version_conflict(public_view(current), "The request") from None


def accept(principal: Principal, request_id: str, version: int | None) -> dict[str, Any]:
    return _move(principal, request_id, "accept", None, version)


def decline(principal: Principal, request_id: str, reason: str, version: int | None) -> dict[str, Any]:
    return _move(principal, request_id, "decline", reason, version)


# --- effects -----------------------------------------------------------------------------------------


def _tell(
    request: dict[str, Any], registration_id: str, party: str, notice: str, view: dict[str, Any]
) -> None:
    registration = registration_store.get(registration_id)
    email = ((registration or {}).get("representative") or {}).get("email")
    if not email:  # withdrawn since: its address is erased, nobody is left to tell
        logger.info("no address to notify", extra={"registration_id": registration_id})
        return
    # Once per request and status, so a redelivered item sends nothing twice.
    notifications.send(
        notice,
        [notifications.Recipient(email, party)],
        {"request": view},
        f"contact-request#{request['id']}#{request['status']}",
        f"/contact-requests/{request['id']}",
    )


def deliver_received(item: Item) -> None:
    """The `tell_contact_request_received` effect, from the request as stored: the recipient is asked
    to answer only while it is still pending (one answered, or closed by its sender's withdrawal, before
    this is delivered asks nobody)."""
    request = store.get(item.subject_id)
    if request is None or request["status"] != PENDING:
        return
    sender = request["sender"]
    view = {
        "sender": sender.get("organisation_name"),
        "sender_country": sender.get("country"),
        "message": request["message"],
    }
    _tell(request, request["to"], "recipient", "contact_request_received", view)


def deliver_answered(item: Item) -> None:
    """The `tell_contact_request_answered` effect: the sender told of the answer the change gave (the
    item's `status`), from the request as stored; an answer is final, so it still holds."""
    request = store.get(item.subject_id)
    outcome = str(item.args.get("status") or "")
    if request is None or request["status"] != outcome:
        return
    reason = request.get("reason")
    view = {
        "recipient": request["recipient"].get("organisation_name"),
        "outcome": outcome,
        # The recipient's words, unless it withdrew since (then erased).
        "reason": reason if reason and reason != ERASED else None,
    }
    _tell(request, request["from"], "sender", "contact_request_answered", view)
