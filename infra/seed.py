"""Seed data: the partnerships from reference data (every stage) and a demo population (local only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import reference
from chalicelib.store.partnerships import PartnershipRecord, put_partnership


def seed_partnerships() -> int:
    for p in reference.partnerships().values():
        put_partnership(PartnershipRecord(p.id, p.name, p.ecosystems, p.countries))
    return len(reference.partnerships())


def seed_contact_points(idp: Any, user_pool_id: str, app_client_id: str) -> int:
    """A Cognito user in the `partnership` group for each partnership's contact point (local only)."""
    from infra.local.tokens import issue_token

    contacts = 0
    for p in reference.partnerships().values():
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
