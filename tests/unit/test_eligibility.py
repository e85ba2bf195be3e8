"""Registration eligibility rules, each case named after the rule it exercises."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from chalicelib.reference import reference_data
from chalicelib.rules import RuleViolation
from chalicelib.rules.eligibility import (
    RegistrationFacts,
    check_age,
    check_cluster_membership,
    check_country,
    check_hosting_offer,
    check_organisation_type,
    check_partnership,
    check_reference_codes,
    check_registration,
    check_representative,
    eighteenth_birthday,
)
from infra.seed import example_partnerships

# Partnerships live in the table, not in the reference data: the rules are given the ids the service
# reads there; here, those of the local stack's seed.
REF = replace(reference_data(), partnership_ids=frozenset(p.id for p in example_partnerships()))
TODAY = date(2027, 3, 1)
HOST_ONLY_TYPES = ["large_company", "public_authority", "training_provider", "university"]


def _facts(**changes) -> RegistrationFacts:
    facts = RegistrationFacts(
        roles=frozenset({"visitor"}),
        partnership_id="epix",
        organisation_type="sme",
        organisation_country="IT",
        cluster_name="Veneto ICT Cluster",
        ecosystems=("digital",),
        date_of_birth=date(1990, 5, 1),
        nationality="IT",
        residence_country="IT",
        languages=("it", "en"),
        preferred_countries=("DE", "NL"),
        preferred_ecosystems=("digital", "energy_renewables"),
        preferred_organisation_types=("cluster_organisation",),
        objectives=("technology_uptake",),
    )
    return replace(facts, **changes)


def _codes(facts: RegistrationFacts) -> list[str]:
    return [v.code for v in check_registration(facts, REF, TODAY)]


def _raises(code: str, call, *args) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        call(*args)
    assert caught.value.code == code
    return caught.value


# --- the whole registration ---


def test_a_complete_registration_is_eligible():
    assert check_registration(_facts(), REF, TODAY) == []


def test_all_violations_are_reported_in_a_stable_order():
    # Given a registration that breaks many rules at once
    facts = _facts(
        roles=frozenset({"visitor", "host"}),
        partnership_id="nope",
        organisation_type="university",
        organisation_country="NO",
        cluster_name=None,
        date_of_birth=date(2010, 1, 1),
        nationality="US",
        residence_country=None,
        has_hosting_offer=False,
        ecosystems=("space_mining",),
        languages=("xx",),
    )
    # When it is checked
    codes = _codes(facts)
    # Then every rule it breaks is named, always in the same order
    assert codes == [
        "UNKNOWN_PARTNERSHIP",
        "VISITOR_TYPE_NOT_ALLOWED",
        "CLUSTER_MEMBERSHIP_REQUIRED",
        "COUNTRY_NOT_ELIGIBLE",
        "TOO_YOUNG",
        "REPRESENTATIVE_NOT_ELIGIBLE",
        "HOSTING_OFFER_REQUIRED",
        "UNKNOWN_ECOSYSTEM",
        "UNKNOWN_LANGUAGE",
    ]
    assert codes == _codes(facts)


def test_violations_render_as_error_details():
    [violation] = check_registration(_facts(partnership_id="nope"), REF, TODAY)
    assert violation.as_detail() == {
        "code": "UNKNOWN_PARTNERSHIP",
        "message": "unknown partnership 'nope'",
        "field": "partnership_id",
    }


# --- organisation type ---


@pytest.mark.parametrize("organisation_type", HOST_ONLY_TYPES)
def test_host_only_type_may_not_visit(organisation_type):
    violation = _raises(
        "VISITOR_TYPE_NOT_ALLOWED", check_organisation_type, organisation_type, {"visitor"}, REF
    )
    assert violation.field == "roles"


@pytest.mark.parametrize("organisation_type", HOST_ONLY_TYPES)
def test_host_only_type_may_host(organisation_type):
    check_organisation_type(organisation_type, {"host"}, REF)
    assert (
        _codes(_facts(organisation_type=organisation_type, roles=frozenset({"host"}), has_hosting_offer=True))
        == []
    )


@pytest.mark.parametrize("organisation_type", HOST_ONLY_TYPES)
def test_host_only_type_registering_for_both_roles_is_refused(organisation_type):
    _raises("VISITOR_TYPE_NOT_ALLOWED", check_organisation_type, organisation_type, {"visitor", "host"}, REF)


@pytest.mark.parametrize("organisation_type", ["cluster_organisation", "scaleup_support", "sme"])
def test_visiting_types_may_take_both_roles(organisation_type):
    check_organisation_type(organisation_type, {"visitor", "host"}, REF)


def test_unknown_organisation_type():
    violation = _raises("UNKNOWN_ORGANISATION_TYPE", check_organisation_type, "guild", {"visitor"}, REF)
    assert violation.field == "organisation.type"


def test_unknown_organisation_type_is_reported_once():
    assert _codes(_facts(organisation_type="guild", cluster_name=None)) == ["UNKNOWN_ORGANISATION_TYPE"]


# --- cluster membership ---


@pytest.mark.parametrize("cluster_name", [None, "", "   "])
def test_sme_outside_a_cluster_is_refused(cluster_name):
    violation = _raises("CLUSTER_MEMBERSHIP_REQUIRED", check_cluster_membership, "sme", cluster_name, REF)
    assert violation.field == "organisation.cluster_name"


def test_sme_in_a_cluster_is_accepted():
    check_cluster_membership("sme", "Veneto ICT Cluster", REF)


def test_cluster_organisation_needs_no_cluster_name():
    check_cluster_membership("cluster_organisation", None, REF)


# --- country ---


@pytest.mark.parametrize(
    "country", ["NO", "CH", "GB", "LI", "US"], ids=["norway", "switzerland", "uk", "liechtenstein", "us"]
)
def test_non_cosme_country_is_not_eligible(country):
    violation = _raises("COUNTRY_NOT_ELIGIBLE", check_country, country, REF)
    assert violation.field == "organisation.country"


def test_unknown_country_code_is_not_eligible():
    _raises("COUNTRY_NOT_ELIGIBLE", check_country, "ZZ", REF)


@pytest.mark.parametrize("country", ["XK", "UA", "TR", "IS", "IT", "PT"])
def test_cosme_country_is_eligible(country):
    check_country(country, REF)


def test_kosovo_organisation_is_eligible():
    assert _codes(_facts(organisation_country="XK", nationality="XK")) == []


# --- age ---


def test_day_before_18th_birthday_is_too_young():
    _raises("TOO_YOUNG", check_age, date(2009, 3, 2), TODAY)


def test_18th_birthday_itself_is_old_enough():
    check_age(date(2009, 3, 1), TODAY)


def test_born_on_29_february_turns_18_on_1_march_in_a_common_year():
    # Given someone born on 29 February 2008: 2026 has no 29 February
    born = date(2008, 2, 29)
    # Then 28 February 2026 is still too young and 1 March 2026 is old enough
    assert eighteenth_birthday(born) == date(2026, 3, 1)
    _raises("TOO_YOUNG", check_age, born, date(2026, 2, 28))
    check_age(born, date(2026, 3, 1))


@pytest.mark.parametrize("year", [1996, 2000, 2004, 2012])
def test_born_on_29_february_always_turns_18_on_1_march(year):
    # 18 years after a leap year is never a leap year, so the decision applies to everyone born that day
    assert eighteenth_birthday(date(year, 2, 29)) == date(year + 18, 3, 1)


def test_born_on_28_february_turns_18_on_28_february():
    assert eighteenth_birthday(date(2002, 2, 28)) == date(2020, 2, 28)


def test_birth_date_in_the_future_is_too_young():
    violation = _raises("TOO_YOUNG", check_age, TODAY + timedelta(days=1), TODAY)
    assert violation.field == "representative.date_of_birth"


# --- representative ---


def test_national_of_an_eligible_country_qualifies_without_residence():
    check_representative("XK", None, False, None, TODAY, REF)


def test_resident_for_183_days_with_a_permit_qualifies():
    check_representative("US", "DE", True, TODAY - timedelta(days=183), TODAY, REF)


def test_resident_for_182_days_is_not_eligible():
    violation = _raises(
        "REPRESENTATIVE_NOT_ELIGIBLE",
        check_representative,
        "US",
        "DE",
        True,
        TODAY - timedelta(days=182),
        TODAY,
        REF,
    )
    assert "182 days" in violation.message
    assert "not eligible" in violation.message


def test_resident_without_a_permit_is_not_eligible():
    violation = _raises(
        "REPRESENTATIVE_NOT_ELIGIBLE",
        check_representative,
        "US",
        "DE",
        False,
        TODAY - timedelta(days=400),
        TODAY,
        REF,
    )
    assert "permit" in violation.message


def test_resident_of_a_non_cosme_country_is_not_eligible():
    _raises(
        "REPRESENTATIVE_NOT_ELIGIBLE", check_representative, "US", "CH", True, date(2020, 1, 1), TODAY, REF
    )


def test_residence_without_a_start_date_is_not_eligible():
    _raises("REPRESENTATIVE_NOT_ELIGIBLE", check_representative, "GB", "IT", True, None, TODAY, REF)


# --- partnership and hosting ---


def test_unknown_partnership():
    _raises("UNKNOWN_PARTNERSHIP", check_partnership, "erasmus", REF)


@pytest.mark.parametrize("partnership_id", ["epix", "medic-nest", "ce4big", "clamtex", "cloth", "hempclub"])
def test_seed_partnerships_are_known(partnership_id):
    check_partnership(partnership_id, REF)


def test_host_without_an_offer_is_refused():
    violation = _raises("HOSTING_OFFER_REQUIRED", check_hosting_offer, {"visitor", "host"}, False)
    assert violation.field == "hosting"


def test_host_with_an_offer_and_a_visitor_without_one_are_accepted():
    check_hosting_offer({"host"}, True)
    check_hosting_offer({"visitor"}, False)


# --- reference codes ---


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"ecosystems": ("digital", "space_mining")}, "UNKNOWN_ECOSYSTEM", "organisation.ecosystems"),
        ({"preferred_ecosystems": ("basket_weaving",)}, "UNKNOWN_ECOSYSTEM", "preferences.ecosystems"),
        ({"objectives": ("internship",)}, "UNKNOWN_OBJECTIVE", "preferences.objectives"),
        ({"preferred_countries": ("DE", "ZZ")}, "UNKNOWN_COUNTRY", "preferences.countries"),
        ({"preferred_countries": ("CH",)}, "UNKNOWN_COUNTRY", "preferences.countries"),
        (
            {"preferred_organisation_types": ("guild",)},
            "UNKNOWN_ORGANISATION_TYPE",
            "preferences.organisation_types",
        ),
        ({"languages": ("it", "klingon")}, "UNKNOWN_LANGUAGE", "representative.languages"),
    ],
)
def test_unknown_reference_code(changes, code, field):
    # Given a registration naming one code that is not in the reference lists
    facts = _facts(**changes)
    # When its codes are checked
    violation = _raises(code, check_reference_codes, facts, REF)
    # Then the violation names the field, and it is the only one
    assert violation.field == field
    assert [v.code for v in check_registration(facts, REF, TODAY)] == [code]


def test_unknown_codes_are_listed_once_in_request_order():
    [violation] = check_registration(_facts(ecosystems=("zeta", "alpha", "zeta")), REF, TODAY)
    assert violation.message.endswith("zeta, alpha")


def test_every_field_with_unknown_codes_is_reported():
    facts = _facts(ecosystems=("x",), preferred_ecosystems=("y",), objectives=("z",), languages=("q",))
    assert _codes(facts) == [
        "UNKNOWN_ECOSYSTEM",
        "UNKNOWN_ECOSYSTEM",
        "UNKNOWN_OBJECTIVE",
        "UNKNOWN_LANGUAGE",
    ]


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        (date(2027, 3, 1), date(2027, 2, 28), False),
        (date(2027, 3, 1), date(2027, 3, 1), True),  # one day is a window
        (date(2027, 3, 1), None, True),
        (None, date(2027, 3, 1), True),
    ],
)
def test_an_availability_window_may_not_end_before_it_starts(start, end, ok):
    from chalicelib.rules.eligibility import check_availability

    if ok:
        check_availability(start, end)
    else:
        with pytest.raises(RuleViolation) as caught:
            check_availability(start, end)
        assert caught.value.code == "AVAILABILITY_ENDS_BEFORE_IT_STARTS"
