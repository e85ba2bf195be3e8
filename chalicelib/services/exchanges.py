"""Acts on an exchange: `act()` loads it, works out who the caller is to it, lets the typed exchange
(rules.exchange_model) take the act and `commit()`s the result with its audit entry and effects in one
transaction; the steps of exchange building (edit, confirm, review, cancel, extensions) are acts, and
reading, listing and the history are here. A new draft is services.exchange_drafts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from pydantic import Field

from chalicelib import clock, cursors, reference
from chalicelib.auth import Principal
from chalicelib.errors import Forbidden, NotFound, RuleBroken, version_conflict
from chalicelib.rules.exchange_flow import FLOW, ExchangeStatus, Party, date_step
from chalicelib.rules.exchange_model import Act, Exchange, ExchangeParties, Facts
from chalicelib.rules.registration import ACCEPTED
from chalicelib.services import exchange_mail
from chalicelib.services.writes import check_version, optimistic
from chalicelib.store import audit
from chalicelib.store import exchanges as store
from chalicelib.store.outbox import Effect
from chalicelib.store.writes import StaleVersion

_WHAT = "The exchange"
_SUPERVISORS = ("support", "admin")
# Who sees the VO's bank account: never the host side.
_BANK_ACCOUNT_PARTIES = {Party.VO, Party.VOP, Party.FINANCE, Party.ADMIN}


class ListCursor(cursors.CursorKey):
    created_at: str = Field(pattern=r"^\d{4}-\d\d-\d\dT[0-9:.]+Z$")
    id: str = Field(pattern=r"^exc_[0-9a-f]{32}$")


# --- who the caller is to an exchange ------------------------------------------------------------


def parties(principal: Principal, doc: Mapping[str, Any]) -> set[str]:
    return set(
        ExchangeParties.from_document(doc).of(principal.user_id, principal.partnership_id, principal.roles)
    )


def _visible(principal: Principal, doc: Mapping[str, Any]) -> set[str]:
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


def accepted(parties: store.Parties, registration_id: str) -> dict[str, Any]:
    found = parties.registrations.get(registration_id)
    if found is None or found["status"] != ACCEPTED:
        raise NotFound("No such accepted participant.")
    return found


def _facts(exchange: Exchange) -> Facts:
    """What the exchange rules read besides the exchange: its visitor's and host's registrations (both
    still accepted) and the exchange holding the visitor's visit; one read."""
    visitor_id, host_id = exchange.visitor_registration, exchange.host_registration
    read = store.read_parties([visitor_id, host_id])
    return Facts(
        visitor=accepted(read, visitor_id),
        host=accepted(read, host_id),
        visiting=read.visiting.get(visitor_id),
        reference=reference.reference_data(),
    )


# --- use cases -----------------------------------------------------------------------------------


def get(principal: Principal, exchange_id: str) -> dict[str, Any]:
    doc, _ = load(principal, exchange_id)
    return view(principal, doc)


# --- one act: load, who the caller is, the model's method, one transaction ---------------------------


def act(
    principal: Principal,
    exchange_id: str,
    action: str,
    args: Mapping[str, Any] | None = None,
    version: int | None = None,
    fields: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Take `action` with `args` on the exchange for the caller: load it, work out the caller's parties,
    let the exchange take the act (the table's step, the act's change) and write the result with its
    audit entry and effects in one transaction. A lost race is retried from a fresh read, so
    independent acts (two approvals, four signatures) never lose one another and conflicting ones
    answer 409 from what is there now."""

    def attempt() -> dict[str, Any]:
        doc, found = load(principal, exchange_id)
        check_version(version, doc, view(principal, doc), _WHAT)
        taken = Act(
            action, frozenset(found), principal.user_id, clock.now_iso(), args or {}, roles=principal.roles
        )
        try:
            saved = commit(Exchange.from_document(doc), taken, fields)
        except StaleVersion:
            if version is not None:
                current = store.get(exchange_id) or doc
                raise version_conflict(view(principal, current), _WHAT) from None
            raise
        return view(principal, saved.as_document())

    return optimistic(attempt, _WHAT)


def commit(
    exchange: Exchange, taken: Act, fields: tuple[str, ...] = (), along: Callable[[Any], None] | None = None
) -> Exchange:
    """The act taken on the exchange as read, whoever acts (a user, the scheduler, the upload check, a
    withdrawal), written with its audit entry, the visitor's one visit taken or given back, `along`'s
    items (another object that changes with it) and the effects it causes, in one transaction. A repeat
    writes nothing. Raises StaleVersion when the exchange changed since it was read."""
    step = exchange.decide(taken)
    if step.repeat:
        return exchange  # acted already: the exchange as it is answers the repeat
    if exchange.needs_facts(taken, step):
        taken = replace(taken, facts=_facts(exchange))
    change = exchange.apply(taken).moved(step, taken, before=exchange)
    before, updated = exchange.as_document(), change.exchange.as_document()
    visitor = exchange.visitor_registration
    release = change.release_visit and store.visiting(visitor) == exchange.id
    entry = audit_entry(updated, taken.action, before["status"], taken.actor, taken.roles, fields)
    try:
        saved = store.replace(
            updated,
            entry,
            take_visitor=visitor if change.take_visit else None,
            release_visitor=visitor if release else None,
            along=along,
            effects=caused(before, updated, change.effects),
        )
    except store.VisitorTaken as exc:
        raise RuleBroken(
            "The visitor already has an exchange; a visitor visits only once.",
            code="VISITOR_ALREADY_VISITED",
        ) from exc
    return Exchange.from_document(saved)


def record(
    exchange: Exchange,
    changed: Exchange,
    name: str,
    actor: str,
    fields: tuple[str, ...],
    effects: tuple[Effect, ...] = (),
) -> Exchange:
    """Record what a system function learnt of the exchange (an upload's verdict, a withdrawal's
    pseudonyms, a reminder sent) without a step of the flow: the status stays; written with its audit
    entry, the mail it causes and `effects`. Raises StaleVersion as `commit` does."""
    before = exchange.as_document()
    updated = replace(changed, updated_at=clock.now_iso()).as_document()
    entry = audit_entry(updated, name, before["status"], actor, None, fields)
    staged = (*caused(before, updated, ()), *effects)
    return Exchange.from_document(store.replace(updated, entry, effects=staged))


def audit_entry(
    doc: Mapping[str, Any],
    action: str,
    before: str,
    actor: str,
    roles: frozenset[str] | None,
    fields: tuple[str, ...] = (),
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


def caused(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], named: tuple[str, ...]
) -> tuple[Effect, ...]:
    """The outbox items a write of the exchange stages: the effects its step names (`Change.effects`:
    those not taken in the transaction itself), and the mail every write causes (who it newly waits
    for, what they are told)."""
    return (*(Effect(e) for e in named), *exchange_mail.told(before, after))


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
            system_act(doc, action, Party.SCHEDULER, SCHEDULER)
            return True

        moved += optimistic(attempt, _WHAT)
    return moved


def system_act(
    doc: Mapping[str, Any],
    action: str,
    party: str,
    actor: str,
    args: Mapping[str, Any] | None = None,
    fields: tuple[str, ...] = (),
    along: Callable[[Any], None] | None = None,
) -> Exchange:
    """A system function's act on the exchange as it read it (the scheduler, the lump sum's function):
    `commit` for that one party."""
    taken = Act(action, frozenset({party}), actor, clock.now_iso(), args or {})
    return commit(Exchange.from_document(doc), taken, fields, along)


def edit(
    principal: Principal, exchange_id: str, changes: dict[str, Any], version: int | None
) -> dict[str, Any]:
    """Change the draft's agreed fields (either participant) or the bank account (the VO only: the
    table's restriction on the argument); any change clears the confirmations given so far."""
    return act(principal, exchange_id, "edit", changes, version, tuple(sorted(changes)))


def submit(principal: Principal, exchange_id: str, version: int | None) -> dict[str, Any]:
    return act(principal, exchange_id, "submit", version=version)


def review(
    principal: Principal, exchange_id: str, decision: str, comment: str | None, version: int | None
) -> dict[str, Any]:
    action = "approve" if decision == "approve" else "request_changes"
    return act(principal, exchange_id, action, {"comment": comment}, version)


def cancel(principal: Principal, exchange_id: str, reason: str, version: int | None) -> dict[str, Any]:
    return act(principal, exchange_id, "cancel", {"reason": reason}, version)


# --- an extension: asked by a participant, decided by the VOP -------------------------------------


def request_extension(
    principal: Principal, exchange_id: str, end_date: str, reason: str, version: int | None
) -> dict[str, Any]:
    """A later end date, for the VOP to decide; the exchange rules must hold for it already."""
    args = {"end_date": end_date, "reason": reason}
    return act(principal, exchange_id, "request_extension", args, version, ("extension",))


def decide_extension(
    principal: Principal, exchange_id: str, decision: str, comment: str | None, version: int | None
) -> dict[str, Any]:
    """Granted, the end date changes and the documents are amended; refused (with a comment), the
    exchange goes on as agreed."""
    grant = decision == "grant"
    action = "grant_extension" if grant else "refuse_extension"
    fields = ("extension", "end_date") if grant else ("extension",)
    return act(principal, exchange_id, action, {"comment": comment}, version, fields)


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
