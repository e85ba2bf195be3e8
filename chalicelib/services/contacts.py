"""Contact requests between accepted visitors and hosts: send, list, accept, decline, notify."""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.auth import Principal
from chalicelib.clock import now_iso
from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken
from chalicelib.observability import logger
from chalicelib.rules import RuleViolation
from chalicelib.rules.contact import check_open_requests, contact_pairing
from chalicelib.store import contacts as store
from chalicelib.store import mail
from chalicelib.store import registrations as registration_store
from chalicelib.store.models import ContactRequestModel


def _own_accepted_registration(principal: Principal) -> dict[str, Any]:
    registration = registration_store.get_for_user(principal.user_id)
    if registration is None or registration.get("status") != "accepted":
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
    sender = _own_accepted_registration(principal)
    recipient = registration_store.get(to)
    if recipient is None or recipient.get("status") != "accepted":
        raise NotFound("No such participant in the catalogue.")
    try:
        contact_pairing(sender, recipient)
        check_open_requests(store.open_count(sender["id"]))
    except RuleViolation as violation:
        raise RuleBroken.from_violations([violation]) from violation
    now = now_iso()
    item = ContactRequestModel(
        id=f"cr_{uuid.uuid4().hex}",
        from_registration=sender["id"],
        to_registration=recipient["id"],
        from_user=sender["user_id"],
        to_user=recipient["user_id"],
        status="pending",
        message=message,
        from_summary=_summary(sender),
        to_summary=_summary(recipient),
        created_at=now,
        updated_at=now,
    )
    try:
        created = store.create(item, "participant")
    except store.DuplicateRequest as exc:
        raise Conflict(
            "You already have an open request to this participant.", code="DUPLICATE_REQUEST"
        ) from exc
    except store.TooManyOpen as exc:
        # The count was below the limit when checked but another request took the last slot.
        try:
            check_open_requests(store.open_count(sender["id"]))
        except RuleViolation as violation:
            raise RuleBroken.from_violations([violation]) from exc
        raise
    return public_view(created)


def list_box(
    principal: Principal, box: str, limit: int, after: dict[str, Any] | None
) -> tuple[list[Any], Any]:
    own = _own_accepted_registration(principal)
    items, last = store.list_for(own["id"], box, limit, after)
    return [public_view(i) for i in items], last


def _decide(
    principal: Principal, request_id: str, status: str, reason: str | None, version: int | None
) -> Any:
    item = store.get(request_id)
    if item is None or principal.user_id not in (item.from_user, item.to_user):
        raise NotFound("No such contact request.")
    if principal.user_id != item.to_user:
        raise Forbidden("Only the recipient may answer a contact request.")
    if item.status != "pending":
        raise Conflict(f"The request is already {item.status}.", code="NOT_PENDING")
    if version is not None and version != item.version:
        raise Conflict(
            "The request changed since you read it.",
            code="VERSION_CONFLICT",
            details=[public_view(store.to_document(item))],
        )
    try:
        decided = store.close(item, status, reason, principal.user_id, "participant", now_iso())
    except store.StaleVersion as exc:
        raise Conflict("The request changed since you read it.", code="VERSION_CONFLICT") from exc
    return public_view(decided)


def accept(principal: Principal, request_id: str, version: int | None) -> dict[str, Any]:
    return _decide(principal, request_id, "accepted", None, version)


def decline(principal: Principal, request_id: str, reason: str, version: int | None) -> dict[str, Any]:
    return _decide(principal, request_id, "declined", reason, version)


def handle_stream_change(old_image: dict[str, Any] | None, new_image: dict[str, Any] | None) -> None:
    """E-mail the recipient of a new request, and the sender when it is answered."""
    if not new_image:
        return
    new = store.document_from_image(new_image)
    old_status = store.document_from_image(old_image)["status"] if old_image else None
    if old_status is None and new["status"] == "pending":
        to_notify, subject, text = (
            new["to"],
            "ClusterXchange: a new contact request",
            f"{new['sender'].get('organisation_name')} ({new['sender'].get('country')}) would like to "
            f"get in touch about an exchange:\n\n{new['message']}\n\nAnswer it in ClusterXchange.",
        )
    elif old_status == "pending" and new["status"] in ("accepted", "declined"):
        outcome = "accepted" if new["status"] == "accepted" else "declined"
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
