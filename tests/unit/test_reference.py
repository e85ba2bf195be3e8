"""Reference data: the lists the rules and the public reference endpoints rely on."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib import reference
from infra.seed import example_partnerships

EU_MEMBERS = {
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "HU",
}  # fmt: skip
COSME_NON_EU = {"IS", "AL", "BA", "XK", "ME", "MK", "RS", "TR", "AM", "MD", "UA"}


def test_the_38_cosme_countries_are_eligible():
    assert reference.eligible_countries() == EU_MEMBERS | COSME_NON_EU
    assert len(reference.eligible_countries()) == 38


@pytest.mark.parametrize("code", ["NO", "LI", "CH", "GB", "US"])
def test_named_non_cosme_countries_are_listed_but_not_eligible(code):
    country = reference.countries()[code]

    assert country.eligible is False
    assert country.lump_sum_eur is None


def test_kosovo_is_xk_and_eligible():
    assert reference.countries()["XK"].name == "Kosovo"
    assert reference.countries()["XK"].eligible is True


def test_default_lump_sum_table_is_eye_2024():
    tables = reference.lump_sum_tables()

    assert tables[0].version == "eye-2024"
    assert tables[0].valid_from == date(2024, 1, 1)
    assert tables[0].ceiling_eur == 1100


def test_lump_sum_tables_are_sorted_by_valid_from():
    dates = [table.valid_from for table in reference.lump_sum_tables()]
    assert dates == sorted(dates)


def test_portugal_pays_780_and_denmark_the_1100_ceiling():
    countries = reference.countries()
    assert countries["PT"].lump_sum_eur == 780
    assert countries["DK"].lump_sum_eur == 1100


def test_no_rate_exceeds_the_ceiling():
    for table in reference.lump_sum_tables():
        assert all(0 < eur <= table.ceiling_eur for eur in table.rates.values())


def test_every_eligible_country_has_a_rate_in_every_table():
    for table in reference.lump_sum_tables():
        assert set(table.rates) == reference.eligible_countries()


def test_the_example_partnerships_are_the_six_seeds():
    assert {p.id for p in example_partnerships()} == {
        "epix",
        "medic-nest",
        "ce4big",
        "clamtex",
        "cloth",
        "hempclub",
    }


def test_partnerships_together_cover_every_eligible_country():
    covered = {code for p in example_partnerships() for code in p.countries}
    assert covered == reference.eligible_countries()


def test_partnerships_use_known_codes_and_have_contact_points():
    for partnership in example_partnerships():
        assert set(partnership.countries) <= reference.eligible_countries()
        assert set(partnership.ecosystems) <= set(reference.ecosystems())
        assert 3 <= len(partnership.countries) <= 7
        assert 1 <= len(partnership.contact_points) <= 2
        assert all(cp.email.endswith(f"@{partnership.id}.example") for cp in partnership.contact_points)


def test_fourteen_ecosystems():
    assert len(reference.ecosystems()) == 14
    assert reference.ecosystems()["textiles"] == "Textiles"


@pytest.mark.parametrize("code", ["large_company", "public_authority", "training_provider", "university"])
def test_host_only_organisation_types(code):
    kind = reference.organisation_types()[code]
    assert (kind.may_visit, kind.may_host, kind.requires_cluster_membership) == (False, True, True)


def test_cluster_organisation_needs_no_cluster_membership():
    kind = reference.organisation_types()["cluster_organisation"]
    assert (kind.may_visit, kind.may_host, kind.requires_cluster_membership) == (True, True, False)


def test_objectives_and_activities_match_the_rules():
    assert set(reference.objectives()) == {
        "learn_from_cluster", "new_markets", "technology_uptake", "interregional_collaboration", "networking",
    }  # fmt: skip
    assert set(reference.activities()) == {
        "capacity_building", "knowledge_sharing", "project_development", "market_research",
        "networking", "fair_or_conference", "study_visit",
    }  # fmt: skip


@pytest.mark.parametrize(
    "code", ["sq", "hy", "bs", "sr", "mk", "tr", "uk", "ro", "is", "hr", "en", "de", "fr"]
)
def test_languages_of_eligible_countries_are_known(code):
    assert code in reference.languages()


def test_reference_data_bundles_the_lists():
    ref = reference.reference_data()

    assert ref.eligible_countries == reference.eligible_countries()
    assert {"NO", "CH", "GB", "US", "LI"} <= ref.country_codes
    assert ref.partnership_ids == frozenset()  # the partnerships table's answer, not a file's
    assert "digital" in ref.ecosystems
    assert "networking" in ref.objectives
    assert "it" in ref.languages
    assert ref.organisation_types["sme"].may_visit is True


def test_reference_data_is_loaded_once():
    assert reference.reference_data() is reference.reference_data()
    assert reference.countries() is reference.countries()
