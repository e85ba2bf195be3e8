"""Who may pair with whom for an exchange (RULES.md, "Matching and contact"): a visitor with a host,
across a border, a visitor who already visited takes no part, and a host whose capacity is taken
takes no more. Pure: no AWS, no I/O, no numpy.

The one definition for both uses: `check` decides one pair (contact requests), and the matching
index applies the same predicates to whole columns. The predicates use only `&`, `|`, `!=` and
comparisons, so they hold elementwise when given numpy arrays instead of single values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from chalicelib.rules import RuleViolation

# Role bits: what a registration's `roles` list says, as a bitset the index can hold in a column.
VISITOR = 1
HOST = 2
ROLE_BITS: Mapping[str, int] = MappingProxyType({"visitor": VISITOR, "host": HOST})


def role_bits(roles: Iterable[Any]) -> int:
    """The role bits of a `roles` list; unknown entries count for nothing."""
    bits = 0
    for role in roles:
        if isinstance(role, str):
            bits |= ROLE_BITS.get(role, 0)
    return bits


def country_code(value: Any) -> str:
    """The organisation's country as compared for the border rule ("" when missing)."""
    return value.strip().upper() if isinstance(value, str) else ""


def has_visited(exchanges: Any) -> bool:
    """Whether a registration's exchange summary says it already visited (an exchange past draft)."""
    return isinstance(exchanges, Mapping) and bool(exchanges.get("visited"))


def host_capacity(hosting: Any) -> int:
    """How many exchanges a host takes at once: absent or malformed means the least a host can take
    (1); an explicit 0 means closed."""
    capacity = hosting.get("capacity", 1) if isinstance(hosting, Mapping) else 1
    return capacity if type(capacity) is int else 1


def open_roles(roles: int, visited: bool) -> int:
    """The roles a registration may still take in a new pairing: a visitor visits only once."""
    return roles & ~VISITOR if visited else roles


# The predicates below take single values or numpy arrays (elementwise).


def transnational(country: Any, other: Any) -> Any:
    """Visitor and host are in different countries."""
    return country != other


def may_visit(visitor_roles: Any, host_roles: Any) -> Any:
    """Whether the first side may visit the second, from their `open_roles`."""
    return ((visitor_roles & VISITOR) != 0) & ((host_roles & HOST) != 0)


def overlaps(start: Any, end: Any, window_from: Any, window_to: Any) -> Any:
    """Whether a hosting period (first and last day, as ordinals) overlaps the window."""
    return (start <= window_to) & (end >= window_from)


def host_full(capacity: Any, taken: Any) -> Any:
    """Whether a host with `taken` hosting periods in a window has no room left in it (capacity 0
    is always full)."""
    return taken >= capacity


def taken_in(periods: Iterable[tuple[int, int]], window_from: int, window_to: int) -> int:
    """How many of a host's hosting periods overlap the window."""
    return sum(1 for start, end in periods if overlaps(start, end, window_from, window_to))


@dataclass(frozen=True, slots=True)
class Party:
    """One side of a possible pairing, as the rules see it."""

    id: str
    country: str
    roles: int
    visited: bool

    @classmethod
    def of(cls, registration: Mapping[str, Any]) -> Party:
        org = registration.get("organisation")
        roles = registration.get("roles")
        return cls(
            id=str(registration.get("id") or ""),
            country=country_code(org.get("country") if isinstance(org, Mapping) else None),
            roles=role_bits(roles if isinstance(roles, list | tuple) else ()),
            visited=has_visited(registration.get("exchanges")),
        )

    @property
    def open_roles(self) -> int:
        return open_roles(self.roles, self.visited)


def check(a: Party, b: Party, field: str | None = None) -> tuple[Party, Party]:
    """(visitor, host) of a new pairing of `a` and `b`, or the rule it breaks (RuleViolation naming
    `field`). When both ways are open, `a` is the visitor."""
    if not transnational(a.country, b.country):
        raise RuleViolation(
            "SAME_COUNTRY",
            "Visitor and host must be in different countries (a transnational exchange).",
            field,
        )
    if may_visit(a.open_roles, b.open_roles):
        return a, b
    if may_visit(b.open_roles, a.open_roles):
        return b, a
    if may_visit(a.roles, b.roles) or may_visit(b.roles, a.roles):
        raise RuleViolation(
            "VISITOR_ALREADY_VISITED",
            "The visitor already has an exchange; a visitor visits only once.",
            field,
        )
    raise RuleViolation("ROLES_DO_NOT_MATCH", "One side must be a visitor and the other a host.", field)
