"""Managing partnerships (admins; the seed and the CSV import go through the same functions): create,
edit, read with the private fields. Reading them for the product is services.reference's."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from chalicelib import clock, reference
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken
from chalicelib.rules.partnership import (
    ContactPoint,
    Partnership,
    PartnershipDraft,
    checked,
    draft_of,
)
from chalicelib.services import reference as reading
from chalicelib.services.writes import check_version, optimistic
from chalicelib.store import audit
from chalicelib.store import partnerships as store
from chalicelib.store.writes import StaleVersion

ADMIN = "admin"
# The seed's actor: it runs where the stack is made, with no user.
SEED_ACTOR = "seed"
_FIELDS = ("name", "ecosystems", "countries", "contact_points", "debtor_account", "finance_email")


def _admin(principal: Principal | None) -> None:
    if principal is not None and not principal.has_role(ADMIN):
        raise Forbidden("Only an admin manages partnerships.")


def _checked(draft: PartnershipDraft) -> Partnership:
    partnership, violations = checked(
        draft, frozenset(reference.ecosystems()), reference.eligible_countries()
    )
    if partnership is None:
        raise RuleBroken.from_violations(violations)
    return partnership


def _entry(
    principal: Principal | None, partnership_id: str, action: str, at: str, fields: tuple[str, ...]
) -> audit.AuditEntry:
    return audit.entry(
        store.AUDIT_KIND,
        partnership_id,
        action,
        actor=principal.user_id if principal else SEED_ACTOR,
        roles=principal.roles if principal else None,
        at=at,
        fields=fields,
    )


def view(partnership: Partnership) -> dict[str, Any]:
    """The admin's view: every field, the account in full."""
    account = partnership.debtor_account
    return {
        "id": partnership.id,
        "name": partnership.name,
        "ecosystems": list(partnership.ecosystems),
        "countries": list(partnership.countries),
        "contact_points": [{"name": cp.name, "email": cp.email} for cp in partnership.contact_points],
        "debtor_account": account.as_dict() if account else None,
        "finance_email": partnership.finance_email,
        "version": partnership.version,
        "created_at": partnership.created_at,
        "updated_at": partnership.updated_at,
    }


def create(principal: Principal | None, draft: PartnershipDraft) -> dict[str, Any]:
    """A new partnership (`principal` None: the seed). 409 PARTNERSHIP_EXISTS when the id is taken."""
    _admin(principal)
    now = clock.now_iso()
    partnership = dataclasses.replace(_checked(draft), created_at=now, updated_at=now)
    try:
        stored = store.create(partnership, _entry(principal, draft.id, "partnership.created", now, _FIELDS))
    except StaleVersion as exc:
        raise Conflict(f"A partnership {draft.id!r} exists already.", code="PARTNERSHIP_EXISTS") from exc
    reading.forget_cache()  # this container reads its own write at once; others within a minute
    return view(stored)


def get(principal: Principal, partnership_id: str) -> dict[str, Any]:
    _admin(principal)
    partnership = reading.partnership(partnership_id, fresh=True)
    if partnership is None:
        raise NotFound("No such partnership.")
    return view(partnership)


def edit(
    principal: Principal | None, partnership_id: str, changes: Mapping[str, Any], version: int | None
) -> dict[str, Any]:
    """Change the named fields (`changes`: field -> new value, as PartnershipDraft holds it); the others
    stay. A pinned stale `version` is 409 with the current partnership."""
    _admin(principal)

    def attempt() -> dict[str, Any]:
        current = reading.partnership(partnership_id, fresh=True)
        if current is None:
            raise NotFound("No such partnership.")
        check_version(version, {"version": current.version}, view(current), "The partnership")
        changed = tuple(f for f in _FIELDS if f in changes)
        partnership = _checked(dataclasses.replace(draft_of(current), **{f: changes[f] for f in changed}))
        now = clock.now_iso()
        updated = dataclasses.replace(
            partnership, version=current.version, created_at=current.created_at, updated_at=now
        )
        stored = store.replace(updated, _entry(principal, partnership_id, "partnership.edited", now, changed))
        return view(stored)

    result = optimistic(attempt, "The partnership")
    reading.forget_cache()
    return result


def contact_points(items: list[Mapping[str, str]]) -> tuple[ContactPoint, ...]:
    return tuple(ContactPoint(name=item["name"], email=item["email"]) for item in items)
