"""The agreed facts the lump sum depends on: built from the two registrations and the exchange's agreed
fields when it is validated, amended by an extension, stored and read back as they were agreed."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest

from chalicelib.rules import RuleViolation
from chalicelib.rules.agreed import AgreedFacts, AgreedPlace, agree, amend
from chalicelib.rules.distance import Location


def registration(city: str, country: str, lat: float | None, lon: float | None) -> dict[str, Any]:
    location = None if lat is None else {"lat": lat, "lon": lon}
    return {"id": f"reg_{city}", "organisation": {"city": city, "country": country, "location": location}}


LILLE = registration("Lille", "FR", 50.63, 3.06)
BRUSSELS = registration("Brussels", "BE", 50.85, 4.35)
LISBON = registration("Lisbon", "PT", 38.72, -9.14)


def exchange(**changes: Any) -> dict[str, Any]:
    doc = {"start_date": "2027-04-12", "end_date": "2027-04-16", "working_days": 5, "mode": "physical"}
    return {**doc, **changes}


def facts(distance_km: float) -> AgreedFacts:
    place = AgreedPlace("Lille", "FR", Location(50.63, 3.06))
    return AgreedFacts(
        visitor=place,
        host=AgreedPlace("Brussels", "BE", Location(50.85, 4.35)),
        distance_km=distance_km,
        host_country="BE",
        start_date=date(2027, 4, 12),
        end_date=date(2027, 4, 16),
        working_days=5,
        mode="physical",
    )


def test_the_facts_are_the_registered_places_and_the_exchanges_agreed_fields() -> None:
    agreed = agree(LILLE, BRUSSELS, exchange())
    assert agreed.visitor == AgreedPlace("Lille", "FR", Location(50.63, 3.06))
    assert agreed.host == AgreedPlace("Brussels", "BE", Location(50.85, 4.35))
    assert agreed.host_country == "BE"
    assert 90 < agreed.distance_km < 100 and agreed.nearby
    assert (agreed.start_date, agreed.end_date, agreed.working_days, agreed.mode) == (
        date(2027, 4, 12),
        date(2027, 4, 16),
        5,
        "physical",
    )


def test_the_lump_sum_reads_only_the_agreed_facts() -> None:
    money = agree(LILLE, BRUSSELS, exchange()).lump_sum_facts()
    assert (money.host_country, money.start_date, money.working_days, money.mode) == (
        "BE",
        date(2027, 4, 12),
        5,
        "physical",
    )
    assert 90 < money.distance_km < 100


def test_a_registration_edited_after_agreeing_changes_nothing() -> None:
    visitor = copy.deepcopy(LILLE)
    agreed = agree(visitor, BRUSSELS, exchange())
    visitor["organisation"].update(LISBON["organisation"])
    assert agreed == agree(LILLE, BRUSSELS, exchange())


def test_a_mode_left_out_is_a_physical_stay() -> None:
    doc = exchange()
    del doc["mode"]
    assert agree(LILLE, BRUSSELS, doc).mode == "physical"


@pytest.mark.parametrize(
    ("km", "nearby"), [(199.9, True), (200.0, False), (200.1, False), (0.0, True)], ids=str
)
def test_the_200_km_band(km: float, nearby: bool) -> None:
    assert facts(km).nearby is nearby


def test_organisations_in_one_city_are_zero_km_apart() -> None:
    agreed = agree(LILLE, registration("Lille", "FR", 50.63, 3.06), exchange())
    assert agreed.distance_km == 0.0 and agreed.nearby


@pytest.mark.parametrize(
    "party",
    [
        registration("Nowhere", "FR", None, None),
        {"id": "reg_bare", "organisation": {"city": "Lille", "country": "FR"}},
        {"id": "reg_empty"},
        registration("Bad", "FR", 95.0, 3.0),
        registration("Bad", "FR", 50.0, float("nan")),
        {"id": "reg_nocity", "organisation": {"country": "FR", "location": {"lat": 50.6, "lon": 3.1}}},
    ],
    ids=["no location", "location missing", "no organisation", "latitude out of range", "nan", "no city"],
)
def test_a_party_without_a_usable_place_is_a_named_violation(party: dict[str, Any]) -> None:
    for visitor, host in ((party, BRUSSELS), (LILLE, party)):
        with pytest.raises(RuleViolation) as refused:
            agree(visitor, host, exchange())
        assert refused.value.code == "NO_AGREED_LOCATION"


def test_an_amendment_takes_the_new_dates_and_keeps_the_agreed_places() -> None:
    agreed = agree(LILLE, BRUSSELS, exchange())
    extended = amend(agreed, exchange(end_date="2027-04-23", working_days=10))
    assert (extended.end_date, extended.working_days) == (date(2027, 4, 23), 10)
    assert (extended.visitor, extended.host, extended.distance_km) == (
        agreed.visitor,
        agreed.host,
        agreed.distance_km,
    )
    assert extended.start_date == agreed.start_date and extended.host_country == "BE"


def test_stored_facts_read_back_as_agreed() -> None:
    agreed = agree(LILLE, BRUSSELS, exchange())
    stored = json.loads(json.dumps(agreed.as_dict()))  # what a JSON attribute gives back
    assert AgreedFacts.from_dict(stored) == agreed
    assert stored["visitor"] == {"city": "Lille", "country": "FR", "location": {"lat": 50.63, "lon": 3.06}}
    assert stored["start_date"] == "2027-04-12" and stored["host_country"] == "BE"


def test_the_stored_distance_is_the_agreed_one_not_measured_again() -> None:
    stored = facts(250.0).as_dict()
    assert AgreedFacts.from_dict(stored).distance_km == 250.0


@pytest.mark.parametrize("stored", [None, {}], ids=["none", "empty"])
def test_no_agreed_facts_is_a_named_violation_not_a_guess(stored: dict[str, Any] | None) -> None:
    with pytest.raises(RuleViolation) as refused:
        AgreedFacts.from_dict(stored)
    assert refused.value.code == "NO_AGREED_FACTS"
