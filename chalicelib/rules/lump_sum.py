"""The lump sum paid to the visiting organisation (RULES.md "Lump sum"). Pure: the reference tables are
passed in; no AWS, no clock.

Amount = the host country's rate in the table in force on the start date, halved (once) when the stay
has fewer than 5 working days or the organisations are less than 200 km apart, capped at the table's
ceiling, 0 for a virtual exchange; whole euros, half up after halving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.reference import LumpSumTable
from chalicelib.rules import RuleViolation
from chalicelib.rules.distance import NEARBY_KM

# Stays shorter than this many working days at the host get half the rate (ECCP "about" page).
SHORT_STAY_WORKING_DAYS = 5
# The visitor's partnership pays within this many days of approving the closing report.
PAYMENT_DAYS = 10


@dataclass(frozen=True)
class LumpSumFacts:
    host_country: str
    start_date: date
    working_days: int
    distance_km: float
    mode: str  # "physical" or "virtual"


@dataclass(frozen=True)
class Reduction:
    code: str  # SHORT_STAY, NEARBY, VIRTUAL, CEILING
    reason: str


@dataclass(frozen=True)
class LumpSum:
    amount_eur: int
    table_version: str
    host_country: str
    rate_eur: int
    ceiling_eur: int
    working_days: int
    distance_km: float
    reductions: tuple[Reduction, ...]

    def breakdown(self) -> dict[str, Any]:
        return {
            "table_version": self.table_version,
            "host_country": self.host_country,
            "rate_eur": self.rate_eur,
            "ceiling_eur": self.ceiling_eur,
            "working_days": self.working_days,
            "distance_km": round(self.distance_km, 1),
            "reductions": [{"code": r.code, "reason": r.reason} for r in self.reductions],
            "amount_eur": self.amount_eur,
        }


def short_stay(working_days: int) -> bool:
    return working_days < SHORT_STAY_WORKING_DAYS


def table_in_force(tables: Sequence[LumpSumTable], day: date) -> LumpSumTable:
    """The last table valid on `day`: a newer table never changes an exchange that started before it."""
    in_force = [t for t in sorted(tables, key=lambda t: t.valid_from) if t.valid_from <= day]
    if not in_force:
        raise RuleViolation("NO_LUMP_SUM_TABLE", f"No lump-sum table is in force on {day.isoformat()}.")
    return in_force[-1]


def half_up(amount: int) -> int:
    """Half of whole euros, rounded half up (781 -> 391)."""
    return (amount + 1) // 2


def compute_lump_sum(facts: LumpSumFacts, tables: Sequence[LumpSumTable]) -> LumpSum:
    table = table_in_force(tables, facts.start_date)
    rate = table.rates.get(facts.host_country)
    if rate is None:
        raise RuleViolation(
            "NO_LUMP_SUM_RATE", f"Lump-sum table {table.version} has no rate for {facts.host_country}."
        )
    reductions: list[Reduction] = []
    amount = rate
    if facts.mode == "virtual":
        reductions.append(Reduction("VIRTUAL", "a virtual exchange has no travel or stay to finance"))
        amount = 0
    else:
        halving = []
        if short_stay(facts.working_days):
            halving.append(
                Reduction(
                    "SHORT_STAY",
                    f"{facts.working_days} working days, fewer than {SHORT_STAY_WORKING_DAYS}: halved",
                )
            )
        if facts.distance_km < NEARBY_KM:
            halving.append(
                Reduction(
                    "NEARBY",
                    f"{facts.distance_km:.1f} km apart, less than {NEARBY_KM} km: halved",
                )
            )
        if halving:
            reductions.extend(halving)  # halved once, even when both apply
            amount = half_up(rate)
        if amount > table.ceiling_eur:
            reductions.append(Reduction("CEILING", f"capped at EUR {table.ceiling_eur}"))
            amount = table.ceiling_eur
    return LumpSum(
        amount_eur=amount,
        table_version=table.version,
        host_country=facts.host_country,
        rate_eur=rate,
        ceiling_eur=table.ceiling_eur,
        working_days=facts.working_days,
        distance_km=facts.distance_km,
        reductions=tuple(reductions),
    )
