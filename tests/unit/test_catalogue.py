"""Catalogue filters, free-text search and cursor paging (chalicelib.rules.matching.catalogue)."""

from __future__ import annotations

import random

import pytest

from chalicelib.rules.matching import catalogue as browsing
from chalicelib.rules.matching.catalogue import catalogue_page
from chalicelib.rules.matching.index import MatchIndex
from chalicelib.rules.matching.query import CataloguePosition, CatalogueQuery
from chalicelib.rules.text import fold_for_search
from infra.synthetic import make_registrations, registration


def catalogue():
    return [
        registration(
            "reg_1",
            roles=["host"],
            organisation={
                "name": "Ökologie Zentrum",
                "type": "university",
                "country": "DE",
                "ecosystems": ["energy_renewables"],
                "description": "Research on smart  grids.",
                "expertise": ["solar storage"],
            },
            representative={"languages": ["de", "en"]},
            preferences={"available_from": "2027-03-01", "available_to": "2027-05-31"},
            hosting={"capacity": 2, "offer": "Hidden offer words: zeppelin."},
        ),
        registration(
            "reg_2",
            roles=["visitor"],
            organisation={
                "name": "acme iot",
                "type": "sme",
                "country": "IT",
                "city": "Zeppelinstadt",
                "ecosystems": ["digital"],
                "description": "IoT sensors.",
                "expertise": ["IoT", "Edge computing"],
            },
            representative={"languages": ["it", "en"]},
            preferences={"available_from": "2027-06-01", "available_to": "2027-08-31"},
        ),
        registration(
            "reg_3",
            roles=["visitor", "host"],
            organisation={
                "name": "Beta Textiles",
                "type": "cluster_organisation",
                "country": "PT",
                "ecosystems": ["textiles", "digital"],
                "description": "Cluster of textile firms.",
            },
            representative={"languages": ["pt"]},
        ),
        registration(
            "reg_4",
            roles=["host"],
            organisation={
                "name": "Acme IoT",
                "type": "sme",
                "country": "FR",
                "ecosystems": ["digital", "energy_renewables"],
                "description": "Connected meters; énergie intelligente.",
            },
            representative={"languages": ["fr", "en"]},
            preferences={"available_from": "2027-09-01"},
        ),
        registration(
            "reg_5",
            roles=["host"],
            status="pending",
            organisation={"name": "Aaa Pending", "country": "ES"},
        ),
    ]


@pytest.fixture(scope="module")
def index():
    return MatchIndex.build(catalogue())


def page_ids(index, query, limit=20, after=None):
    cards, cursor = catalogue_page(index, query, limit, after)
    return [card["id"] for card in cards], cursor


def walk(index, query, limit):
    """Every card id over all pages, following the cursors."""
    seen: list[str] = []
    after = None
    while True:
        cards, after = catalogue_page(index, query, limit, after)
        assert len(cards) <= limit
        seen += [card["id"] for card in cards]
        if after is None:
            return seen


def test_everything_accepted_in_name_order(index):
    # "acme iot" and "Acme IoT" fold to the same name, so the id decides.
    assert page_ids(index, CatalogueQuery()) == (["reg_2", "reg_4", "reg_3", "reg_1"], None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (CatalogueQuery(role="host"), ["reg_4", "reg_3", "reg_1"]),
        (CatalogueQuery(role="visitor"), ["reg_2", "reg_3"]),
        (CatalogueQuery(country="DE"), ["reg_1"]),
        (CatalogueQuery(country="de"), ["reg_1"]),
        (CatalogueQuery(country="NO"), []),
        (CatalogueQuery(ecosystem="digital"), ["reg_2", "reg_4", "reg_3"]),
        (CatalogueQuery(ecosystem="tourism"), []),
        (CatalogueQuery(organisation_type="sme"), ["reg_2", "reg_4"]),
        (CatalogueQuery(language="en"), ["reg_2", "reg_4", "reg_1"]),
        (CatalogueQuery(language="pt"), ["reg_3"]),
        (CatalogueQuery(language="xx"), []),
        (CatalogueQuery(q="iot"), ["reg_2", "reg_4"]),
        (CatalogueQuery(available_from="2027-04-01", available_to="2027-04-30"), ["reg_3", "reg_1"]),
        (CatalogueQuery(available_from="2027-07-01"), ["reg_2", "reg_4", "reg_3"]),
        (CatalogueQuery(available_to="2027-02-28"), ["reg_3"]),
    ],
)
def test_each_filter_alone(index, query, expected):
    assert page_ids(index, query) == (expected, None)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (CatalogueQuery(role="host", ecosystem="digital"), ["reg_4", "reg_3"]),
        (CatalogueQuery(role="host", ecosystem="digital", language="en"), ["reg_4"]),
        (CatalogueQuery(role="visitor", organisation_type="sme", q="edge"), ["reg_2"]),
        (CatalogueQuery(role="host", country="FR", q="iot", available_from="2027-10-01"), ["reg_4"]),
        (CatalogueQuery(role="host", country="FR", q="iot", available_to="2027-08-31"), []),
        (CatalogueQuery(ecosystem="energy_renewables", q="grids"), ["reg_1"]),
    ],
)
def test_filters_combined(index, query, expected):
    assert page_ids(index, query) == (expected, None)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("OKOLOGIE", ["reg_1"]),
        ("ökologie zentrum", ["reg_1"]),
        ("smart grids", ["reg_1"]),  # the description has two spaces
        ("SOLAR storage", ["reg_1"]),  # expertise
        ("energie", ["reg_4"]),  # description with an accent
        ("ÉNERGIE INTELLIGENTE", ["reg_4"]),
        ("textile firms", ["reg_3"]),
        ("zeppelin", []),  # offer and city are not searched
        ("", ["reg_2", "reg_4", "reg_3", "reg_1"]),
        ("   ", ["reg_2", "reg_4", "reg_3", "reg_1"]),
    ],
)
def test_q_is_a_case_and_accent_insensitive_substring(index, q, expected):
    assert page_ids(index, CatalogueQuery(q=q))[0] == expected


def test_q_does_not_span_fields_or_entries(index):
    assert page_ids(index, CatalogueQuery(q="zentrum research"))[0] == []
    assert page_ids(index, CatalogueQuery(q="iot edge"))[0] == []


def test_non_accepted_never_listed(index):
    assert "reg_5" not in walk(index, CatalogueQuery(), 2)


def test_pagination_covers_every_match_once(index):
    for limit in (1, 2, 3, 4, 5):
        assert walk(index, CatalogueQuery(), limit) == ["reg_2", "reg_4", "reg_3", "reg_1"]
        assert walk(index, CatalogueQuery(role="host"), limit) == ["reg_4", "reg_3", "reg_1"]


def test_first_page_cursor_and_last_page(index):
    ids, cursor = page_ids(index, CatalogueQuery(), limit=3)
    assert ids == ["reg_2", "reg_4", "reg_3"]
    assert cursor == CataloguePosition("beta textiles", "reg_3")
    assert page_ids(index, CatalogueQuery(), limit=3, after=cursor) == (["reg_1"], None)
    # A page that ends exactly on the last match says there is no more.
    assert page_ids(index, CatalogueQuery(), limit=4) == (["reg_2", "reg_4", "reg_3", "reg_1"], None)


def test_cursor_survives_a_rebuild_with_a_registration_inserted_before_it(index):
    first, cursor = page_ids(index, CatalogueQuery(), limit=2)
    assert first == ["reg_2", "reg_4"]
    newcomer = registration("reg_0", organisation={"name": "Aardvark Labs", "country": "NL"})
    late = registration("reg_9", organisation={"name": "Zulu Works", "country": "NL"})
    rebuilt = MatchIndex.build([newcomer, *catalogue(), late])
    rest = []
    after = cursor
    while after is not None:
        ids, after = page_ids(rebuilt, CatalogueQuery(), limit=2, after=after)
        rest += ids
    assert rest == ["reg_3", "reg_1", "reg_9"]
    # Removing the row the cursor points at does not break it either.
    shrunk = MatchIndex.build([reg for reg in catalogue() if reg["id"] != "reg_4"])
    assert page_ids(shrunk, CatalogueQuery(), limit=2, after=cursor)[0] == ["reg_3", "reg_1"]


def test_bad_input_raises_value_error(index):
    # Cursors are the service's (chalicelib.cursors); the rules take positions.
    with pytest.raises(ValueError):
        catalogue_page(index, CatalogueQuery(role="sponsor"), 20)
    with pytest.raises(ValueError):
        catalogue_page(index, CatalogueQuery(available_from="2027-13-45"), 20)


def long_names(count, seed=1):
    """Registrations whose names agree on far more than a position keeps of them."""
    rng = random.Random(seed)
    stem = "Europäische Vereinigung für angewandte Forschung und Entwicklung im Bereich "
    regs = []
    for i in range(count):
        tail = rng.choice(["Energie", "Energiespeicher", "Digitales", "Textil", ""]) + f" {rng.randint(0, 3)}"
        regs.append(registration(f"reg_{i:03d}", organisation={"name": stem + tail, "country": "DE"}))
    return regs


def test_a_position_after_a_long_name_is_cut_and_still_pages_exactly():
    regs = long_names(60)
    index = MatchIndex.build(regs)
    everything = walk(index, CatalogueQuery(), 100)
    for limit in (1, 4, 7):
        assert walk(index, CatalogueQuery(), limit) == everything
    _, after = catalogue_page(index, CatalogueQuery(), 5)
    assert after.partial
    assert len(after.name) == browsing.POSITION_NAME_CHARS


def test_a_cut_position_whose_row_left_repeats_rows_but_never_skips_one():
    regs = long_names(60)
    index = MatchIndex.build(regs)
    everything = walk(index, CatalogueQuery(), 100)
    first, after = catalogue_page(index, CatalogueQuery(), 20)
    assert [card["id"] for card in first] == everything[:20]
    assert after.partial
    shrunk = MatchIndex.build([reg for reg in regs if reg["id"] != after.id])
    rest = []
    while after is not None:
        cards, after = catalogue_page(shrunk, CatalogueQuery(), 20, after)
        rest += [card["id"] for card in cards]
    # The rest is a tail of the rebuilt catalogue that holds everything after the first page.
    order = walk(shrunk, CatalogueQuery(), 100)
    assert rest == order[len(order) - len(rest) :]
    assert set(everything[20:]) <= set(rest)


def test_cards_carry_no_personal_data(index):
    cards, _ = catalogue_page(index, CatalogueQuery(), 20)
    for card in cards:
        flat = repr(card)
        assert "org.example" not in flat.replace("https://org.example", "")
        assert "1990-05-01" not in flat
        assert "secret motivation" not in flat
        assert "user-" not in flat
        assert "location" not in card["organisation"]


def test_empty_index_and_zero_limit(index):
    assert catalogue_page(MatchIndex.build([]), CatalogueQuery(q="x"), 20) == ([], None)
    assert catalogue_page(index, CatalogueQuery(), 0) == ([], None)


def reference(regs, query):
    """Brute-force catalogue: the accepted registrations passing every filter, in order."""
    out = []
    for reg in regs:
        org, prefs, langs = reg["organisation"], reg["preferences"], reg["representative"]["languages"]
        if query.role and query.role not in reg["roles"]:
            continue
        if query.country and org["country"] != query.country:
            continue
        if query.ecosystem and query.ecosystem not in org["ecosystems"]:
            continue
        if query.organisation_type and org["type"] != query.organisation_type:
            continue
        if query.language and query.language not in langs:
            continue
        if query.available_from and (prefs["available_to"] or "9999") < query.available_from:
            continue
        if query.available_to and (prefs["available_from"] or "0000") > query.available_to:
            continue
        if query.q:
            fields = [org["name"], org["description"], *org["expertise"]]
            if not any(fold_for_search(query.q) in fold_for_search(field) for field in fields):
                continue
        out.append((fold_for_search(org["name"]), reg["id"]))
    return [reg_id for _, reg_id in sorted(out)]


@pytest.mark.parametrize("row_scan_share", [0.0, 0.7, 1.1])
def test_synthetic_pages_match_a_brute_force_reference(monkeypatch, row_scan_share):
    # 0.0 forces the concatenated-text scan, 1.1 the row-by-row test; both must agree.
    monkeypatch.setattr(browsing, "ROW_SCAN_SHARE", row_scan_share)
    regs = make_registrations(1500, seed=3)
    index = MatchIndex.build(regs)
    rng = random.Random(8)
    sizes = []
    for _ in range(30):
        query = CatalogueQuery(
            role=rng.choice([None, None, "host", "visitor"]),
            country=rng.choice([None, None, None, "DE", "IT"]),
            ecosystem=rng.choice([None, None, None, "digital", "textiles"]),
            organisation_type=rng.choice([None, None, None, "sme"]),
            language=rng.choice([None, None, "en"]),
            q=rng.choice([None, "iot", "Öko", "smart grids", "labs", "no such text", "a"]),
            available_from=rng.choice([None, None, "2027-05-01"]),
            available_to=rng.choice([None, None, "2027-07-31"]),
        )
        got = walk(index, query, rng.choice([7, 20, 50]))
        assert got == reference(regs, query)
        assert len(got) == len(set(got))
        sizes.append(len(got))
    # The draw covers empty results, single pages and many pages.
    assert min(sizes) == 0
    assert max(sizes) > 200
