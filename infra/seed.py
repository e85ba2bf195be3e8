"""Seed data: the partnerships from reference data (every stage) and a demo population (local only)."""

from __future__ import annotations

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
    return {"partnerships": partnerships, "registrations": 0, "demo_logins": []}
