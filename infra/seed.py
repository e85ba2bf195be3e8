"""Seed data: the example partnerships (local stack and tests) and a demo population (local only). The
partnerships go through the admins' own use case, so the seed stores nothing an admin could not."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.errors import Conflict
from chalicelib.rules.partnership import ContactPoint, PartnershipDraft

# Example data, invented for the demo (valid IBAN check digits): never read by the app.
EXAMPLE_PARTNERSHIPS = Path(__file__).with_name("partnerships.json")


def draft_from(item: dict[str, Any]) -> PartnershipDraft:
    return PartnershipDraft(
        id=item["id"],
        name=item["name"],
        ecosystems=tuple(item["ecosystems"]),
        countries=tuple(item["countries"]),
        contact_points=tuple(
            ContactPoint(name=cp["name"], email=cp["email"]) for cp in item["contact_points"]
        ),
        debtor_account=dict(item["debtor_account"]),
        finance_email=item.get("finance_email"),
    )


@cache
def example_partnerships() -> tuple[PartnershipDraft, ...]:
    return tuple(draft_from(item) for item in json.loads(EXAMPLE_PARTNERSHIPS.read_text(encoding="utf-8")))


def seed_partnerships() -> int:
    """The example partnerships, created as an admin creates one (checked, audited); those that exist
    already are left as they are."""
    from chalicelib.services import partnerships

    for draft in example_partnerships():
        try:
            partnerships.create(None, draft)
        except Conflict:
            continue
    return len(example_partnerships())


def seed_contact_points(idp: Any, user_pool_id: str, app_client_id: str) -> int:
    """A Cognito user in the `partnership` group for each stored partnership's contact point (local only)."""
    from chalicelib.services import reference
    from infra.local.tokens import issue_token

    contacts = 0
    for p in reference.partnerships(fresh=True):
        for contact in p.contact_points:
            issue_token(idp, user_pool_id, app_client_id, contact.email, "partnership", p.id)
            contacts += 1
    return contacts


def seed_demo_population(
    idp: Any, user_pool_id: str, size: int, on_each: Callable[[int], None] | None = None
) -> list[str]:
    """Accepted demo registrations, each with a Cognito user so its e-mail can get a token;
    `on_each(count)` is told after each one (the local stack reports progress with it)."""
    from chalicelib.clock import now_iso
    from chalicelib.rules.registration import ACCEPTED
    from chalicelib.store import audit
    from chalicelib.store import registrations as store
    from infra.demo_population import demo_registrations

    logins = []
    for doc in demo_registrations(size):
        email = doc["representative"]["email"]
        user = idp.admin_create_user(
            UserPoolId=user_pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )["User"]
        sub = next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub")
        idp.admin_add_user_to_group(UserPoolId=user_pool_id, Username=email, GroupName="participant")
        now = now_iso()
        registration = {**doc, "id": store.new_id(), "user_id": sub, "created_at": now, "updated_at": now}
        registration["decision"] = {"decision": "accept", "reason": None, "by": "seed", "at": now}
        entry = audit.entry(
            store.AUDIT_KIND,
            registration["id"],
            "registration.seeded",
            actor="seed",
            roles=None,
            at=now,
            to_status=ACCEPTED,
        )
        store.create(registration, entry)
        logins.append(email)
        if on_each is not None:
            on_each(len(logins))
    return logins
