"""A new exchange: the draft made from an accepted contact request (either participant), or by the
visitor's partnership for an agreement made outside the tool; the rules on its agreed fields are
checked as for every edit (rules.exchange_model)."""

from __future__ import annotations

from typing import Any

from chalicelib import clock, reference
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken
from chalicelib.rules import RuleViolation
from chalicelib.rules.contact import contact_pairing
from chalicelib.rules.contact_request import ACCEPTED as REQUEST_ACCEPTED
from chalicelib.rules.exchange_flow import ExchangeStatus
from chalicelib.rules.exchange_model import Facts, scheduled
from chalicelib.services import exchanges
from chalicelib.services import reference as reference_service
from chalicelib.services.writes import optimistic
from chalicelib.store import contacts as contact_store
from chalicelib.store import exchanges as store


def create(
    principal: Principal,
    agreement: dict[str, Any],
    source: dict[str, Any],
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """A draft between a visitor and a host: from an accepted contact request (either participant), or
    by the visitor's partnership for an agreement made outside the tool. Three calls: the contact
    request, the registrations with the visit guards and the year's counter, the transaction. With an
    idempotency key the draft's id is derived from the caller and the key: a retry after a lost answer
    finds the draft the first made (one more read) instead of making a second."""
    exchange_id = (
        store.new_id() if idempotency_key is None else store.id_for_key(principal.user_id, idempotency_key)
    )
    if idempotency_key is not None:
        made = store.get(exchange_id)
        if made is not None:
            return exchanges.view(principal, made) if exchanges.parties(principal, made) else _key_reused()
    by_ids = bool(source.get("visitor_registration_id") and source.get("host_registration_id"))
    if bool(source.get("contact_request_id")) == by_ids or (
        not by_ids and (source.get("visitor_registration_id") or source.get("host_registration_id"))
    ):
        raise RuleBroken(
            "An exchange starts from contact_request_id, or from visitor_registration_id and "
            "host_registration_id (an agreement made outside the tool).",
            code="EXCHANGE_SOURCE_REQUIRED",
        )
    request = None
    if source.get("contact_request_id"):
        request = contact_store.get(source["contact_request_id"])
        if request is None or principal.user_id not in (request["from_user"], request["to_user"]):
            raise NotFound("No such contact request.")
        if request["status"] != REQUEST_ACCEPTED:
            raise Conflict(f"The contact request is {request['status']}, not accepted.", code="NOT_ACCEPTED")
        ids = [request["from"], request["to"]]
    else:
        ids = [source["visitor_registration_id"], source["host_registration_id"]]
    year = clock.today().year

    def attempt() -> dict[str, Any]:
        parties = store.read_parties(ids, year)
        if request is not None:
            sender, recipient = exchanges.accepted(parties, ids[0]), exchanges.accepted(parties, ids[1])
            try:
                visitor_id, host_id = contact_pairing(sender, recipient)
            except RuleViolation as violation:
                raise RuleBroken.from_violations([violation]) from violation
            visitor, host = parties.registrations[visitor_id], parties.registrations[host_id]
        else:
            visitor, host = exchanges.accepted(parties, ids[0]), exchanges.accepted(parties, ids[1])
            if not (
                principal.has_role("partnership") and principal.partnership_id == visitor["partnership_id"]
            ):
                raise Forbidden("Only the visitor's partnership records an agreement made outside the tool.")
            if principal.user_id in (visitor["user_id"], host["user_id"]):
                raise Forbidden(
                    "You may not record an exchange you take part in.", code="CONFLICT_OF_INTEREST"
                )
            try:
                contact_pairing(visitor, host)
            except RuleViolation as violation:
                raise RuleBroken.from_violations([violation]) from violation
        now = clock.now_iso()
        doc: dict[str, Any] = {
            "id": exchange_id,
            "status": ExchangeStatus.DRAFT,
            "visitor_user": visitor["user_id"],
            "host_user": host["user_id"],
            "vop": visitor["partnership_id"],
            "hop": host["partnership_id"],
            "contact_request_id": source.get("contact_request_id"),
            "visitor": _summary(visitor),
            "host": _summary(host),
            "visitor_partnership": _partnership(visitor["partnership_id"]),
            "host_partnership": _partnership(host["partnership_id"]),
            **agreement,
            "bank_account": None,
            "acted": {},
            "notes": {},
            "created_at": now,
            "updated_at": now,
            "version": None,
        }
        facts = Facts(visitor, host, parties.visiting.get(visitor["id"]), reference.reference_data())
        doc = scheduled(doc, facts)
        entry = exchanges.audit_entry(doc, "created", "", principal.user_id, principal.roles)
        return store.create(doc, entry, year, parties.counter, exchanges.caused(None, doc, ()))

    created = optimistic(attempt, "The exchange")
    return exchanges.view(principal, created)


def _key_reused() -> dict[str, Any]:
    raise Conflict("That Idempotency-Key was used for another request.", code="IDEMPOTENCY_KEY_REUSED")


def _summary(registration: dict[str, Any]) -> dict[str, Any]:
    organisation = registration.get("organisation") or {}
    representative = registration.get("representative") or {}
    name = " ".join(p for p in (representative.get("first_name"), representative.get("last_name")) if p)
    return {
        "registration_id": registration["id"],
        "organisation_name": organisation.get("name"),
        "country": organisation.get("country"),
        "city": organisation.get("city"),
        # As registered when the draft was made: what the statistics count the exchange under.
        "ecosystems": list(organisation.get("ecosystems") or []),
        "representative_name": name or None,
    }


def _partnership(partnership_id: str) -> dict[str, Any]:
    known = reference_service.partnership(partnership_id)
    return {"id": partnership_id, "name": known.name if known else partnership_id}
