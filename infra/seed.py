"""Seed data: the partnerships from reference data (every stage) and a demo population (local only)."""

from __future__ import annotations

from typing import Any

from chalicelib import reference
from chalicelib.store.partnerships import PartnershipRecord, put_partnership


def seed_partnerships() -> int:
    for p in reference.partnerships().values():
        put_partnership(PartnershipRecord(p.id, p.name, p.ecosystems, p.countries))
    return len(reference.partnerships())


def seed_local(endpoint: str, user_pool_id: str, app_client_id: str, demo_size: int) -> dict[str, object]:
    """Everything the local stack starts with: partnerships, their contact points, demo participants."""
    import boto3

    from infra.local.tokens import issue_token

    idp = boto3.client("cognito-idp", endpoint_url=endpoint)
    partnerships = seed_partnerships()
    for p in reference.partnerships().values():
        for contact in p.contact_points:
            issue_token(idp, user_pool_id, app_client_id, contact.email, "partnership", p.id)
    logins = seed_demo_population(idp, user_pool_id, demo_size)
    return {"partnerships": partnerships, "registrations": len(logins), "demo_logins": logins}


def seed_demo_population(idp: Any, user_pool_id: str, size: int) -> list[str]:
    """Accepted demo registrations, each with a Cognito user so its e-mail can get a token."""
    from chalicelib.clock import now_iso
    from chalicelib.store import registrations as store
    from chalicelib.store.audit import AuditEntry
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
        store.create(
            registration,
            AuditEntry(
                entity=store.audit_entity(registration["id"]),
                at=now,
                actor="seed",
                action="registration.seeded",
                to_status="accepted",
            ),
        )
        logins.append(email)
    return logins
