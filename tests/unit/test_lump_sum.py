"""The lump-sum rule: the host country's rate in the table in force on the start date, halved once for a
short stay or a near host, capped, nothing for a virtual exchange, whole euros half up."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType

import pytest

from chalicelib import reference
from chalicelib.reference import LumpSumTable
from chalicelib.rules import RuleViolation
from chalicelib.rules.lump_sum import LumpSumFacts, compute_lump_sum, half_up, table_in_force

TABLES = reference.lump_sum_tables()


def facts(**changes: object) -> LumpSumFacts:
    base = {
        "host_country": "PT",
        "start_date": date(2027, 4, 12),
        "working_days": 5,
        "distance_km": 2200.0,
        "mode": "physical",
    }
    return LumpSumFacts(**{**base, **changes})  # type: ignore[arg-type]


def codes(result: object) -> list[str]:
    return [r.code for r in result.reductions]  # type: ignore[attr-defined]


def test_a_full_week_in_portugal_is_780() -> None:
    result = compute_lump_sum(facts(), TABLES)
    assert (result.amount_eur, result.rate_eur, codes(result)) == (780, 780, [])
    assert result.breakdown()["table_version"] == "eye-2024"


def test_four_working_days_because_of_a_holiday_are_half() -> None:
    result = compute_lump_sum(facts(working_days=4), TABLES)
    assert (result.amount_eur, codes(result)) == (390, ["SHORT_STAY"])


def test_the_fifth_working_day_is_a_full_stay() -> None:
    assert compute_lump_sum(facts(working_days=5), TABLES).amount_eur == 780


def test_organisations_150_km_apart_across_a_border_get_half() -> None:
    result = compute_lump_sum(facts(distance_km=150.0), TABLES)
    assert (result.amount_eur, codes(result)) == (390, ["NEARBY"])


@pytest.mark.parametrize(("km", "amount"), [(199.0, 390), (199.99, 390), (200.0, 780), (201.0, 780)])
def test_the_200_km_threshold(km: float, amount: int) -> None:
    assert compute_lump_sum(facts(distance_km=km), TABLES).amount_eur == amount


def test_both_reductions_halve_once_not_twice() -> None:
    result = compute_lump_sum(facts(working_days=3, distance_km=150.0), TABLES)
    assert (result.amount_eur, codes(result)) == (390, ["SHORT_STAY", "NEARBY"])


def test_a_virtual_exchange_gets_nothing() -> None:
    result = compute_lump_sum(facts(mode="virtual"), TABLES)
    assert (result.amount_eur, codes(result)) == (0, ["VIRTUAL"])


def test_half_up_to_whole_euros() -> None:
    assert [half_up(n) for n in (781, 780, 1, 565)] == [391, 390, 1, 283]
    odd = LumpSumTable("odd", date(2024, 1, 1), 1100, MappingProxyType({"PT": 781}))
    assert compute_lump_sum(facts(working_days=4), [odd]).amount_eur == 391


def test_the_ceiling_caps_a_rate_above_it() -> None:
    generous = LumpSumTable("generous", date(2024, 1, 1), 1100, MappingProxyType({"PT": 1500}))
    result = compute_lump_sum(facts(), [generous])
    assert (result.amount_eur, codes(result)) == (1100, ["CEILING"])
    # halved first, then capped: 750 is under the ceiling
    assert compute_lump_sum(facts(working_days=4), [generous]).amount_eur == 750


def test_a_new_table_never_changes_an_exchange_that_started_before_it() -> None:
    old = LumpSumTable("v1", date(2024, 1, 1), 1100, MappingProxyType({"PT": 780}))
    new = LumpSumTable("v2", date(2027, 5, 1), 1100, MappingProxyType({"PT": 900}))
    assert compute_lump_sum(facts(start_date=date(2027, 4, 30)), [new, old]).amount_eur == 780
    assert compute_lump_sum(facts(start_date=date(2027, 5, 1)), [new, old]).amount_eur == 900
    assert table_in_force([old, new], date(2027, 5, 1)).version == "v2"


def test_no_table_or_no_rate_is_a_named_violation() -> None:
    with pytest.raises(RuleViolation) as before:
        compute_lump_sum(facts(start_date=date(2001, 1, 1)), TABLES)
    assert before.value.code == "NO_LUMP_SUM_TABLE"
    with pytest.raises(RuleViolation) as unknown:
        compute_lump_sum(facts(host_country="US"), TABLES)
    assert unknown.value.code == "NO_LUMP_SUM_RATE"
