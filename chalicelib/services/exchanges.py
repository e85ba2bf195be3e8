"""Exchange building (API.md "Exchanges" up to `ready`): create a draft from an accepted contact request
(or as the visitor's partnership), edit it, confirm it, review it, cancel it, read and list it, and its
history. Every step asks the flow table (rules.exchange_flow) who may do what now."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import Field

from chalicelib import clock, cursors, reference
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken, version_conflict
from chalicelib.rules import RuleViolation
from chalicelib.rules.agreed import AgreedFacts, agree, amend
from chalicelib.rules.contact import contact_pairing
from chalicelib.rules.contact_request import ACCEPTED as REQUEST_ACCEPTED
from chalicelib.rules.exchange import ExchangeFacts, check_exchange
from chalicelib.rules.exchange_flow import (
    AGREED,
    FLOW,
    IN_TRANSACTION,
    RELEASE_VISIT,
    TAKE_VISIT,
    ExchangeStatus,
    Party,
    date_step,
)
from chalicelib.rules.exchange_guards import EXTENSION_GRANTED, EXTENSION_REFUSED, EXTENSION_REQUESTED
from chalicelib.rules.registration import ACCEPTED
from chalicelib.rules.signing import carried
from chalicelib.services import exchange_mail
from chalicelib.services.writes import check_version, optimistic
from chalicelib.store import audit
from chalicelib.store import contacts as contact_store
from chalicelib.store import exchanges as store
from chalicelib.store import registrations as registration_store
from chalicelib.store.outbox import Effect, Item
from chalicelib.store.writes import StaleVersion

_WHAT = "The exchange"
_SUPERVISORS = ("support", "admin")
# Who sees the VO's bank account: never the host side.
_BANK_ACCOUNT_PARTIES = {Party.VO, Party.VOP, Party.FINANCE, Party.ADMIN}


class ListCursor(cursors.CursorKey):
    created_at: str = Field(pattern=r"^\d{4}-\d\d-\d\dT[0-9:.]+Z$")
    id: str = Field(pattern=r"^exc_[0-9a-f]{32}$")


# --- who the caller is to an exchange ------------------------------------------------------------


def parties(principal: Principal, doc: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    if principal.user_id == doc["visitor_user"]:
        found.add(Party.VO)
    if principal.user_id == doc["host_user"]:
        found.add(Party.HO)
    if principal.has_role("partnership") and principal.partnership_id:
        if principal.partnership_id == doc["vop"]:
            found.add(Party.VOP)
        if principal.partnership_id == doc["hop"]:
            found.add(Party.HOP)
    for role, party in (("support", Party.SUPPORT), ("admin", Party.ADMIN), ("finance", Party.FINANCE)):
        if principal.has_role(role):
            found.add(party)
    return found


def _visible(principal: Principal, doc: dict[str, Any]) -> set[str]:
    found = parties(principal, doc)
    # Finance sees exchanges once there is money to move (issue: finalisation); none before.
    visible = found - {Party.FINANCE}
    if not visible:
        raise NotFound("No such exchange.")
    return found


def view(principal: Principal, doc: dict[str, Any]) -> dict[str, Any]:
    """The exchange as this caller may see it, with the actions it may take now."""
    found = parties(principal, doc)
    hidden = ("visitor_user", "host_user", "vop", "hop", "acted", "documents", "signatures", "uploads")
    shown = {k: v for k, v in doc.items() if k not in hidden}
    if not found & _BANK_ACCOUNT_PARTIES:
        shown["bank_account"] = None
    acted = doc.get("acted") or {}
    shown["confirmations"] = {action: sorted(done) for action, done in acted.items()}
    shown["actions"] = FLOW.allowed(ExchangeStatus(doc["status"]), found, acted)
    return shown


def require_bank_account_party(found: set[str]) -> None:
    """The VO's bank account (and any document that names it) is for the VO, the VOP, finance and admin."""
    if not found & _BANK_ACCOUNT_PARTIES:
        raise Forbidden("The bank account is shown only to the visiting organisation and its partnership.")


def load(principal: Principal, exchange_id: str) -> tuple[dict[str, Any], set[str]]:
    doc = store.get(exchange_id)
    if doc is None:
        raise NotFound("No such exchange.")
    return doc, _visible(principal, doc)


def _entry(
    doc: dict[str, Any], action: str, before: str, actor: str, roles: Any, fields: tuple[str, ...] = ()
) -> Any:
    """The audit entry of a write of `doc` (as it will be stored) by `actor`."""
    return audit.entry(
        store.AUDIT_KIND,
        doc["id"],
        f"exchange.{action}",
        actor=actor,
        roles=roles,
        at=doc["updated_at"],
        from_status=before,
        to_status=doc["status"],
        fields=fields,
    )


# --- the rules on the agreed fields --------------------------------------------------------------


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _checked(
    doc: dict[str, Any], visitor: dict[str, Any], host: dict[str, Any], visiting: str | None
) -> dict[str, Any]:
    """Apply the exchange rules to the agreed fields; 422 with every violation, else the document with
    working days, skipped holidays and warnings filled in."""
    visitor_prefs, host_prefs = visitor.get("preferences") or {}, host.get("preferences") or {}
    facts = ExchangeFacts(
        start_date=_day(doc["start_date"]) or date.min,
        end_date=_day(doc["end_date"]) or date.min,
        travel_days_before=doc.get("travel_days_before") or 0,
        travel_days_after=doc.get("travel_days_after") or 0,
        mode=doc.get("mode") or "physical",
        objectives=tuple(doc.get("objectives") or ()),
        activities=tuple(doc.get("activities") or ()),
        visitor_country=(visitor.get("organisation") or {}).get("country") or "",
        host_country=(host.get("organisation") or {}).get("country") or "",
        visitor_already_visited=visiting not in (None, doc["id"]),
        visitor_available_from=_day(visitor_prefs.get("available_from")),
        visitor_available_to=_day(visitor_prefs.get("available_to")),
        host_available_from=_day(host_prefs.get("available_from")),
        host_available_to=_day(host_prefs.get("available_to")),
        host_capacity=int((host.get("hosting") or {}).get("capacity") or 1),
        host_overlapping_exchanges=sum(
            1
            for period in (host.get("exchanges") or {}).get("hosting_periods") or []
            if period.get("exchange_id") != doc["id"]
            and period["start"] <= doc["end_date"]
            and doc["start_date"] <= period["end"]
        ),
    )
    result = check_exchange(facts, reference.reference_data())
    if result.violations:
        raise RuleBroken.from_violations(result.violations)
    checked = dict(doc)
    checked["working_days"] = result.working_days.count if result.working_days else 0
    checked["skipped_holidays"] = result.skipped_holidays()
    checked["warnings"] = result.warnings
    return checked


def _summary(registration: dict[str, Any]) -> dict[str, Any]:
    organisation = registration.get("organisation") or {}
    representative = registration.get("representative") or {}
    name = " ".join(p for p in (representative.get("first_name"), representative.get("last_name")) if p)
    return {
        "registration_id": registration["id"],
        "organisation_name": organisation.get("name"),
        "country": organisation.get("country"),
        "city": organisation.get("city"),
        "representative_name": name or None,
    }


def _partnership(partnership_id: str) -> dict[str, Any]:
    known = reference.partnerships().get(partnership_id)
    return {"id": partnership_id, "name": known.name if known else partnership_id}


def _accepted(parties: store.Parties, registration_id: str) -> dict[str, Any]:
    found = parties.registrations.get(registration_id)
    if found is None or found["status"] != ACCEPTED:
        raise NotFound("No such accepted participant.")
    return found


def _participants(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """The exchange's visitor and host registrations and the exchange holding the visitor's visit: one
    read."""
    visitor_id, host_id = doc["visitor"]["registration_id"], doc["host"]["registration_id"]
    parties = store.read_parties([visitor_id, host_id])
    return _accepted(parties, visitor_id), _accepted(parties, host_id), parties.visiting.get(visitor_id)


# --- use cases -----------------------------------------------------------------------------------


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
            return view(principal, made) if parties(principal, made) else _key_reused()
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
            sender, recipient = _accepted(parties, ids[0]), _accepted(parties, ids[1])
            try:
                visitor_id, host_id = contact_pairing(sender, recipient)
            except RuleViolation as violation:
                raise RuleBroken.from_violations([violation]) from violation
            visitor, host = parties.registrations[visitor_id], parties.registrations[host_id]
        else:
            visitor, host = _accepted(parties, ids[0]), _accepted(parties, ids[1])
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
        doc = _checked(doc, visitor, host, parties.visiting.get(visitor["id"]))
        entry = _entry(doc, "created", "", principal.user_id, principal.roles)
        return store.create(doc, entry, year, parties.counter, caused(None, doc, ()))

    created = optimistic(attempt, _WHAT)
    return view(principal, created)


def _key_reused() -> dict[str, Any]:
    raise Conflict("That Idempotency-Key was used for another request.", code="IDEMPOTENCY_KEY_REUSED")


def get(principal: Principal, exchange_id: str) -> dict[str, Any]:
    doc, _ = load(principal, exchange_id)
    return view(principal, doc)


def move(
    principal: Principal,
    exchange_id: str,
    action: str,
    version: int | None,
    change: Any = None,
    fields: tuple[str, ...] = (),
    args: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One step of the flow: load, ask the table (with the act's `args` for its guards), apply
    `change` (doc -> doc), record who acted, write with the audit entry; a lost race is retried from a
    fresh read, so independent acts (two approvals, four signatures) never lose one another and
    conflicting ones answer 409 from what is there now."""

    def attempt() -> dict[str, Any]:
        doc, found = load(principal, exchange_id)
        check_version(version, doc, view(principal, doc), _WHAT)
        try:
            saved = save_step(
                doc, action, found, principal.user_id, principal.roles, change, fields, args=args
            )
        except StaleVersion:
            if version is not None:
                current = store.get(exchange_id) or doc
                raise version_conflict(view(principal, current), _WHAT) from None
            raise
        return view(principal, saved)

    return optimistic(attempt, _WHAT)


def save_step(
    doc: dict[str, Any],
    action: str,
    found: set[str],
    actor: str,
    roles: Any,
    change: Any = None,
    fields: tuple[str, ...] = (),
    along: Any = None,
    args: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Take `action` on the exchange as read (`doc`) for the parties `found`, whoever acts (a user, the
    scheduler, the upload check): the flow table's step, the change, the status and collected acts, the
    visitor's one visit taken or given back, and the write with its audit entry in one transaction
    (with `along`'s items: another object that changes with it) and the effects the step causes. Raises
    StaleVersion when the exchange changed since it was read."""
    before = doc["status"]
    acted = doc.get("acted") or {}
    step = FLOW.step(ExchangeStatus(before), action, found, acted.get(action, ()), doc=doc, args=args)
    if step.repeat:
        return doc  # acted already: the exchange as it is answers the repeat, and nothing is written
    updated = copy.deepcopy(doc)
    if change is not None:
        updated = change(updated, found)
    updated["status"] = step.status
    if step.status == ExchangeStatus.VALIDATED and before != ExchangeStatus.VALIDATED:
        updated["validated_at"] = clock.now_iso()  # the agreements are rendered for this validation
    if updated.get("validated_at") != doc.get("validated_at"):
        # What the lump sum depends on, fixed with the content the parties sign: an amendment of an agreed
        # exchange (an extension) changes its dates only; a validation from review takes the places the
        # registrations hold now.
        try:
            fixed = (
                amend(AgreedFacts.from_dict(doc["agreed"]), updated)
                if doc.get("agreed") and ExchangeStatus(before) in AGREED
                else agree(*_participants(updated)[:2], updated)
            )
        except RuleViolation as violation:
            raise RuleBroken.from_violations([violation]) from violation
        updated["agreed"] = fixed.as_dict()
    if step.status != before:
        updated["acted"] = {}  # a new status starts its collective steps afresh
    elif step.acted:
        updated["acted"] = {**(updated.get("acted") or {}), action: sorted(step.acted)}
    # ... except for signatures already on a current document, which count without being asked again.
    updated["status"], updated["acted"] = carried(
        ExchangeStatus(updated["status"]), updated.get("acted") or {}, updated
    )
    updated["updated_at"] = clock.now_iso()
    visitor = doc["visitor"]["registration_id"]
    take = visitor if TAKE_VISIT in step.effects else None
    release = visitor if RELEASE_VISIT in step.effects and store.visiting(visitor) == doc["id"] else None
    entry = _entry(updated, action, before, actor, roles, fields)
    try:
        return store.replace(
            updated,
            entry,
            take_visitor=take,
            release_visitor=release,
            along=along,
            effects=caused(doc, updated, step.effects),
        )
    except store.VisitorTaken as exc:
        raise RuleBroken(
            "The visitor already has an exchange; a visitor visits only once.",
            code="VISITOR_ALREADY_VISITED",
        ) from exc


def save_record(doc: dict[str, Any], action: str, actor: str, change: Any) -> dict[str, Any]:
    """Record what a system function learnt of the exchange (an upload's verdict) without a step of the
    flow: the status stays; written with its audit entry. Raises StaleVersion as save_step does."""
    updated = change(copy.deepcopy(doc), set())
    updated["updated_at"] = clock.now_iso()
    entry = _entry(updated, action, doc["status"], actor, None, ("uploads",))
    return store.replace(updated, entry, effects=caused(doc, updated, ()))


def caused(
    before: dict[str, Any] | None, after: dict[str, Any], named: tuple[str, ...]
) -> tuple[Effect, ...]:
    """The outbox items a write of the exchange stages: the effects its step names (those not taken in
    the transaction itself), and the mail every write causes (who it newly waits for, what they are told)."""
    return (*(Effect(e) for e in named if e not in IN_TRANSACTION), *exchange_mail.told(before, after))


SCHEDULER = "system:scheduler"


def advance_by_dates(today: date) -> int:
    """Move every exchange whose date has come (the scheduled function); returns how many moved. The
    step is chosen from the exchange as read now and its dates, so two overlapping runs never take an
    exchange through two steps on one day."""
    moved = 0
    for exchange_id in store.due_by(today):

        def attempt(exchange_id: str = exchange_id) -> bool:
            doc = store.get(exchange_id)
            action = (
                date_step(ExchangeStatus(doc["status"]), doc["start_date"], doc["end_date"], today)
                if doc
                else None
            )
            if doc is None or action is None:
                return False  # moved meanwhile (cancelled, started), or its next date has not come
            save_step(doc, action, {Party.SCHEDULER}, SCHEDULER, None)
            return True

        moved += optimistic(attempt, _WHAT)
    return moved


def edit(
    principal: Principal, exchange_id: str, changes: dict[str, Any], version: int | None
) -> dict[str, Any]:
    """Change the draft's agreed fields (either participant) or the bank account (the VO only: the
    table's restriction on the argument); any change clears the confirmations given so far."""

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        # `changes` is read, never consumed: a lost race runs this again from a fresh read.
        agreed = {k: v for k, v in changes.items() if k != "bank_account"}
        if "bank_account" in changes:
            bank = changes["bank_account"]
            doc["bank_account"] = _bank_account(bank) if bank is not None else None
        doc.update(agreed)
        doc = _checked(doc, *_participants(doc))
        doc["acted"] = {}  # an edit after one confirmation clears it
        return doc

    fields = tuple(sorted(changes))
    return move(principal, exchange_id, "edit", version, change, fields, changes)


def _bank_account(account: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.rules.banking import check_bank_account

    try:
        return check_bank_account(account.get("holder"), account.get("iban"), account.get("bic")).as_dict()
    except RuleViolation as violation:
        raise RuleBroken.from_violations([violation]) from violation


def submit(principal: Principal, exchange_id: str, version: int | None) -> dict[str, Any]:
    return move(principal, exchange_id, "submit", version)


def review(
    principal: Principal, exchange_id: str, decision: str, comment: str | None, version: int | None
) -> dict[str, Any]:
    action = "approve" if decision == "approve" else "request_changes"

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        if comment:
            doc["notes"] = {**(doc.get("notes") or {}), "review_comment": comment}
        return doc

    return move(principal, exchange_id, action, version, change, args={"comment": comment})


def cancel(principal: Principal, exchange_id: str, reason: str, version: int | None) -> dict[str, Any]:
    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        doc["notes"] = {**(doc.get("notes") or {}), "cancel_reason": reason}
        return doc

    return move(principal, exchange_id, "cancel", version, change)


# --- an extension: asked by a participant, decided by the VOP -------------------------------------


def request_extension(
    principal: Principal, exchange_id: str, end_date: str, reason: str, version: int | None
) -> dict[str, Any]:
    """A later end date, for the VOP to decide; the exchange rules must hold for it already."""

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        _checked({**doc, "end_date": end_date}, *_participants(doc))
        doc["extension"] = {
            "status": EXTENSION_REQUESTED,
            "end_date": end_date,
            "from_end_date": doc["end_date"],
            "reason": reason,
            "requested_by": sorted(found & {Party.VO, Party.HO}),
            "requested_at": clock.now_iso(),
        }
        return doc

    return move(
        principal, exchange_id, "request_extension", version, change, ("extension",), {"end_date": end_date}
    )


def decide_extension(
    principal: Principal, exchange_id: str, decision: str, comment: str | None, version: int | None
) -> dict[str, Any]:
    """Granted, the end date changes (the rules checked again on today's data) and the documents are
    amended; refused (with a comment), the exchange goes on as agreed."""
    grant = decision == "grant"

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        extension = doc["extension"]
        doc["extension"] = {
            **extension,
            "status": EXTENSION_GRANTED if grant else EXTENSION_REFUSED,
            "decided_at": clock.now_iso(),
            "comment": comment,
        }
        if grant:
            doc = _checked({**doc, "end_date": extension["end_date"]}, *_participants(doc))
            # A new agreed content: its documents are rendered again (those that changed) and signed
            # again by the parties whose signature the change invalidated.
            doc["validated_at"] = clock.now_iso()
            doc["acted"] = {}
        return doc

    action = "grant_extension" if grant else "refuse_extension"
    fields = ("extension", "end_date") if grant else ("extension",)
    return move(principal, exchange_id, action, version, change, fields, {"comment": comment})


def history(principal: Principal, exchange_id: str) -> list[dict[str, Any]]:
    load(principal, exchange_id)
    return audit.entries_for(f"{store.AUDIT_KIND}#{exchange_id}")


def list_for(
    principal: Principal, status: str | None, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """The caller's exchanges: a participant's (as visitor or host), a partnership's (as VOP or HOP),
    everyone's for support and admin; newest first."""
    keys: list[tuple[str, str]] = []
    if principal.has_role(*_SUPERVISORS):
        keys.append(("kind", "exchange"))
    else:
        if principal.has_role("partnership") and principal.partnership_id:
            keys += [("vop", principal.partnership_id), ("hop", principal.partnership_id)]
        if principal.has_role("participant"):
            keys += [("visitor_user", principal.user_id), ("host_user", principal.user_id)]
    if not keys:
        raise Forbidden("Your role has no exchanges to list.")
    scope = f"exchanges:{principal.user_id}:{status or '*'}"
    after = cursors.decode(scope, cursor, ListCursor)
    items, last = store.list_by(keys, status, limit, (after.created_at, after.id) if after else None)
    next_cursor = cursors.encode(scope, ListCursor(created_at=last[0], id=last[1])) if last else None
    return [view(principal, doc) for doc in items], next_cursor


# --- what the registrations say of their exchanges (matching and contact rules read it) -------------

_COUNTED = frozenset(ExchangeStatus) - {
    ExchangeStatus.DRAFT,
    ExchangeStatus.CHANGES_REQUESTED,
    ExchangeStatus.CANCELLED,
}


def _summary_of(registration: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The registration's exchange summary with this exchange's state folded in."""
    summary = dict(registration.get("exchanges") or {})
    counted = doc["status"] in _COUNTED
    if registration["id"] == doc["visitor"]["registration_id"]:
        # A visitor visits once: whichever exchange holds its visit (cancelling gives it back).
        summary["visited"] = store.visiting(registration["id"]) is not None
    if registration["id"] == doc["host"]["registration_id"]:
        periods = [p for p in summary.get("hosting_periods") or [] if p.get("exchange_id") != doc["id"]]
        if counted:
            periods.append({"exchange_id": doc["id"], "start": doc["start_date"], "end": doc["end_date"]})
        summary["hosting_periods"] = sorted(periods, key=lambda p: (p["start"], p["exchange_id"]))
    return summary


def deliver_sync(item: Item) -> None:
    """The `sync_registrations` effect."""
    sync_registrations(item.subject_id)


def sync_registrations(exchange_id: str) -> None:
    """Keep the visitor's and the host's exchange summaries current. The exchange is read as stored, so
    a late or redelivered effect never puts an old state back."""
    doc = store.get(exchange_id)
    if doc is None:
        return
    for registration_id in (doc["visitor"]["registration_id"], doc["host"]["registration_id"]):

        def attempt(registration_id: str = registration_id) -> None:
            registration = registration_store.get(registration_id)
            if registration is None:
                return
            summary = _summary_of(registration, doc)
            if summary == (registration.get("exchanges") or {}):
                return  # nothing changed: a redelivered record writes nothing
            now = clock.now_iso()
            entry = audit.entry(
                registration_store.AUDIT_KIND,
                registration_id,
                "registration.exchanges_updated",
                actor="system:exchanges",
                roles=None,
                at=now,
                from_status=registration["status"],
                to_status=registration["status"],
                fields=("exchanges",),
            )
            registration_store.replace({**registration, "exchanges": summary, "updated_at": now}, entry)

        optimistic(attempt, "The registration")
