"""Seed data: the partnerships from reference data (every stage) and a demo population (local only)."""

from __future__ import annotations

from chalicelib import reference
from chalicelib.store.partnerships import PartnershipRecord, put_partnership


def seed_partnerships() -> int:
    for p in reference.partnerships().values():
        put_partnership(PartnershipRecord(p.id, p.name, p.ecosystems, p.countries))
    return len(reference.partnerships())
