"""Reference lists served publicly: countries, ecosystems, organisation types, partnerships."""

from __future__ import annotations

import time

from chalicelib import reference
from chalicelib.store import partnerships as partnership_store
from chalicelib.store.partnerships import PartnershipRecord

# Partnerships change rarely; a warm container re-reads them at most once a minute.
_PARTNERSHIPS_TTL_SECONDS = 60.0
_cache: tuple[float, list[PartnershipRecord]] | None = None


def countries() -> list[reference.Country]:
    return sorted(reference.countries().values(), key=lambda c: c.code)


def ecosystems() -> list[tuple[str, str]]:
    return sorted(reference.ecosystems().items())


def organisation_types() -> list[reference.OrganisationType]:
    return list(reference.organisation_types().values())


def partnerships() -> list[PartnershipRecord]:
    global _cache
    if _cache is None or time.monotonic() - _cache[0] > _PARTNERSHIPS_TTL_SECONDS:
        _cache = (time.monotonic(), sorted(partnership_store.list_partnerships(), key=lambda p: p.id))
    return _cache[1]


def partnership_ids() -> frozenset[str]:
    return frozenset(p.id for p in partnerships())


def forget_cache() -> None:
    global _cache
    _cache = None
