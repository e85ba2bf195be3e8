"""Reference lists served publicly: countries, ecosystems, organisation types, partnerships."""

from __future__ import annotations

import time

from chalicelib import reference
from chalicelib.rules.partnership import Partnership
from chalicelib.store import partnerships as partnership_store

# The one read path of partnerships: every reader (the public list, registration, mail, exchange names,
# the payment's debtor) asks here. A warm Lambda container keeps the list for a minute, so after an
# admin's edit other containers may go on using the old values that long (a new contact point is mailed
# from the next minute on; a removed country still validates a registration meanwhile). The container
# that wrote forgets its copy at once, and the one read that moves money (the debtor's account) reads
# the table itself (`fresh=True`), so no transfer is ever paid from an account an admin has replaced.
_PARTNERSHIPS_TTL_SECONDS = 60.0
_cache: tuple[float, list[Partnership]] | None = None


def countries() -> list[reference.Country]:
    return sorted(reference.countries().values(), key=lambda c: c.code)


def ecosystems() -> list[tuple[str, str]]:
    return sorted(reference.ecosystems().items())


def organisation_types() -> list[reference.OrganisationType]:
    return list(reference.organisation_types().values())


def partnerships(*, fresh: bool = False) -> list[Partnership]:
    """Every partnership, by id."""
    global _cache
    if fresh or _cache is None or time.monotonic() - _cache[0] > _PARTNERSHIPS_TTL_SECONDS:
        _cache = (time.monotonic(), sorted(partnership_store.list_partnerships(), key=lambda p: p.id))
    return _cache[1]


def partnership(partnership_id: str, *, fresh: bool = False) -> Partnership | None:
    return next((p for p in partnerships(fresh=fresh) if p.id == partnership_id), None)


def partnership_ids() -> frozenset[str]:
    return frozenset(p.id for p in partnerships())


def forget_cache() -> None:
    global _cache
    _cache = None
