"""Offline gazetteer: accent-, case- and whitespace-insensitive city lookup within a country."""

from __future__ import annotations

import pytest

from chalicelib.reference.gazetteer import locate, normalise


def _close(actual, lat, lon, tolerance=0.1):
    assert actual is not None
    assert abs(actual[0] - lat) < tolerance
    assert abs(actual[1] - lon) < tolerance


def test_padova_in_italy():
    _close(locate("Padova", "IT"), 45.41, 11.88)


@pytest.mark.parametrize("spelling", ["münchen", "Munich", "MÜNCHEN", "  Munchen  "])
def test_munich_in_any_spelling(spelling):
    _close(locate(spelling, "DE"), 48.14, 11.58)


@pytest.mark.parametrize("spelling", ["Pristina", "Prishtinë", "prishtina"])
def test_pristina_in_kosovo_as_xk(spelling):
    _close(locate(spelling, "XK"), 42.67, 21.17)


def test_country_code_is_case_insensitive():
    assert locate("Padova", "it") == locate("Padova", "IT")


def test_unknown_city_is_none():
    assert locate("Atlantis", "GR") is None


def test_city_in_the_wrong_country_is_none():
    assert locate("Padova", "DE") is None


def test_blank_city_is_none():
    assert locate("   ", "IT") is None


def test_several_towns_of_one_name_pick_the_most_populous():
    # Given "Frankfurt" names both Frankfurt am Main and Frankfurt (Oder)
    # When looking it up in Germany
    found = locate("Frankfurt", "DE")
    # Then it is the one on the Main
    _close(found, 50.11, 8.68)


def test_normalise_folds_case_accents_hyphens_and_spaces():
    assert normalise("  Saint-Étienne ") == "saint etienne"
    assert normalise("Łódź") == normalise("Lodz")
