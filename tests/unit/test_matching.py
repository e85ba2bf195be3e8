"""Match scores, exclusions, reasons and the public card (chalicelib.rules.matching)."""

from __future__ import annotations

import math
import random

import pytest

from chalicelib.rules.matching.card import card_from_registration
from chalicelib.rules.matching.features import organisation_key
from chalicelib.rules.matching.index import MatchIndex
from chalicelib.rules.matching.scoring import WEIGHTS, Match, best_matches
from infra.synthetic import make_registrations, registration

PERSONAL_KEYS = {
    "email",
    "date_of_birth",
    "nationality",
    "motivation",
    "user_id",
    "location",
    "residence_country",
}


def visitor_seeker(**changes):
    """An IT visitor wanting a digital cluster organisation in DE in spring 2027."""
    base = {
        "organisation": {
            "name": "Acme IoT",
            "ecosystems": ["digital", "energy_renewables"],
            "description": "We build IoT sensors for smart grids and solar storage.",
            "expertise": ["IoT", "smart grids"],
        },
        "preferences": {
            "countries": ["DE"],
            "ecosystems": ["digital", "energy_renewables"],
            "organisation_types": ["cluster_organisation"],
            "objectives": ["technology_uptake"],
            "available_from": "2027-04-01",
            "available_to": "2027-06-30",
        },
    }
    for key, value in changes.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and key in base else value
    return registration("reg_seeker", **base)


def exact_host(reg_id="reg_exact", **changes):
    reg = registration(
        reg_id,
        roles=["host"],
        organisation={
            "name": f"Energy Cluster {reg_id}",
            "type": "cluster_organisation",
            "country": "DE",
            "ecosystems": ["digital", "energy_renewables"],
            "description": "A cluster for smart grids, IoT and solar storage.",
            "expertise": ["smart grid", "IoT"],
        },
        representative={"languages": ["de", "en"]},
        preferences={"available_from": "2027-03-01", "available_to": "2027-09-30"},
        hosting={"capacity": 2, "offer": "Lab visits and technology uptake workshops."},
    )
    for key, value in changes.items():
        reg[key] = (
            {**reg[key], **value} if isinstance(value, dict) and isinstance(reg.get(key), dict) else value
        )
    return reg


def partial_host(reg_id="reg_partial"):
    return registration(
        reg_id,
        roles=["host"],
        organisation={
            "name": f"Textile Works {reg_id}",
            "type": "large_company",
            "country": "FR",
            "ecosystems": ["digital", "textiles"],
            "description": "We weave technical fabrics.",
        },
        representative={"languages": ["fr"]},
        hosting={"capacity": 1, "offer": "Factory tour."},
    )


def ids(matches):
    return [m.id for m in matches]


def test_weights_sum_to_one_in_one_place():
    assert math.isclose(sum(WEIGHTS.values()), 1.0)
    assert all(weight > 0 for weight in WEIGHTS.values())
    assert set(WEIGHTS) == {
        "ecosystems",
        "country",
        "organisation_type",
        "preferred_ecosystems",
        "objectives",
        "availability",
        "languages",
        "text",
    }


def test_card_has_no_personal_data_beyond_the_name():
    reg = exact_host()
    card = card_from_registration(reg)
    assert set(card) == {
        "id",
        "roles",
        "partnership_id",
        "organisation",
        "representative",
        "languages",
        "preferences",
        "hosting",
    }
    assert card["representative"] == {"first_name": "Ada", "last_name": "Rossi"}
    assert "location" not in card["organisation"]
    assert card["hosting"] == {"capacity": 2, "offer": "Lab visits and technology uptake workshops."}
    assert card["languages"] == ["de", "en"]

    def keys(value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from keys(item)

    assert not PERSONAL_KEYS & set(keys(card))
    flat = repr(card)
    for secret in ("reg_exact@org.example", "1990-05-01", "A secret motivation", "user-reg_exact", "45.41"):
        assert secret not in flat


def test_card_of_a_visitor_has_null_hosting_and_copies_lists():
    reg = registration("reg_v")
    card = card_from_registration(reg)
    assert card["hosting"] is None
    card["organisation"]["ecosystems"].append("tourism")
    assert reg["organisation"]["ecosystems"] == ["digital"]


def test_exact_fit_beats_partial_fit():
    index = MatchIndex.build([partial_host(), exact_host()])
    matches = best_matches(visitor_seeker(), index)
    assert ids(matches) == ["reg_exact", "reg_partial"]
    assert matches[0].score > matches[1].score
    assert matches[0].score > 0.8


def test_scores_are_in_range_and_sorted():
    regs = [
        exact_host(f"reg_h{i}", organisation={"country": c}) for i, c in enumerate(["DE", "FR", "AT", "NL"])
    ]
    regs += [partial_host(f"reg_p{i}") for i in range(3)]
    matches = best_matches(visitor_seeker(), MatchIndex.build(regs))
    assert len(matches) == 7
    assert all(isinstance(m, Match) and 0.0 <= m.score <= 1.0 for m in matches)
    assert all(round(m.score, 3) == m.score for m in matches)
    keys = [(-m.score, m.id) for m in matches]
    assert keys == sorted(keys)


def test_same_country_never_appears():
    italian = exact_host("reg_it", organisation={"country": "IT"})
    matches = best_matches(visitor_seeker(), MatchIndex.build([italian, exact_host()]))
    assert ids(matches) == ["reg_exact"]


def test_visitor_gets_hosts_and_host_gets_visitors():
    other_visitor = registration("reg_v2", organisation={"country": "FR"})
    index = MatchIndex.build([exact_host(), other_visitor])
    assert ids(best_matches(visitor_seeker(), index)) == ["reg_exact"]
    host_seeker = exact_host("reg_me_host", organisation={"country": "ES"})
    assert ids(best_matches(host_seeker, index)) == ["reg_v2"]


def test_visited_visitor_never_offered_to_a_host():
    fresh = registration("reg_fresh", organisation={"country": "FR"})
    done = registration(
        "reg_done", organisation={"country": "FR"}, exchanges={"visited": True, "hosting_periods": []}
    )
    no_exchanges = registration("reg_new", organisation={"country": "PT"})
    del no_exchanges["exchanges"]
    index = MatchIndex.build([fresh, done, no_exchanges])
    assert sorted(ids(best_matches(exact_host("reg_me"), index))) == ["reg_fresh", "reg_new"]


def test_visitor_that_has_visited_gets_no_hosts():
    seeker = visitor_seeker(exchanges={"visited": True, "hosting_periods": []})
    index = MatchIndex.build([exact_host(), partial_host()])
    assert best_matches(seeker, index) == []


def test_both_roles_visitor_that_has_visited_still_gets_visitors():
    seeker = visitor_seeker(roles=["visitor", "host"], exchanges={"visited": True, "hosting_periods": []})
    index = MatchIndex.build([exact_host(), registration("reg_v", organisation={"country": "FR"})])
    assert ids(best_matches(seeker, index)) == ["reg_v"]


def test_host_at_capacity_in_the_window_is_excluded():
    # Seeker's window: 2027-04-01 .. 2027-06-30.
    full = exact_host("reg_full", hosting={"capacity": 1, "offer": ""})
    full["exchanges"] = {"visited": False, "hosting_periods": [{"start": "2027-05-03", "end": "2027-05-07"}]}
    room = exact_host("reg_room", hosting={"capacity": 2, "offer": ""})
    room["exchanges"] = {"visited": False, "hosting_periods": [{"start": "2027-05-03", "end": "2027-05-07"}]}
    elsewhen = exact_host("reg_later", hosting={"capacity": 1, "offer": ""})
    elsewhen["exchanges"] = {
        "visited": False,
        "hosting_periods": [{"start": "2027-10-04", "end": "2027-10-08"}],
    }
    closed = exact_host("reg_closed", hosting={"capacity": 0, "offer": ""})
    matches = best_matches(visitor_seeker(), MatchIndex.build([full, room, elsewhen, closed]))
    assert sorted(ids(matches)) == ["reg_later", "reg_room"]


def test_two_periods_fill_a_capacity_of_two():
    host = exact_host("reg_busy", hosting={"capacity": 2, "offer": ""})
    host["exchanges"] = {
        "visited": False,
        "hosting_periods": [
            {"start": "2027-03-29", "end": "2027-04-02"},
            {"start": "2027-06-28", "end": "2027-07-02"},
        ],
    }
    assert best_matches(visitor_seeker(), MatchIndex.build([host])) == []


def test_own_registration_and_organisation_are_excluded():
    seeker = visitor_seeker(roles=["visitor", "host"], organisation={"country": "DE"})
    same_org = registration(
        "reg_colleague",
        roles=["visitor"],
        organisation={"name": "ACME  I.o.T.", "country": "DE"},
    )
    same_name_abroad = registration("reg_abroad", organisation={"name": "Acme IoT", "country": "FR"})
    index = MatchIndex.build([seeker, same_org, same_name_abroad])
    assert organisation_key("ACME  I.o.T.", "de") == organisation_key("Acme IoT", "DE")
    assert ids(best_matches(seeker, index)) == ["reg_abroad"]


def test_own_user_is_excluded_even_under_another_registration_id():
    old = exact_host("reg_old")
    old["user_id"] = "user-reg_seeker"
    old["organisation"]["name"] = "Renamed GmbH"
    assert best_matches(visitor_seeker(), MatchIndex.build([old, exact_host()])) == best_matches(
        visitor_seeker(), MatchIndex.build([exact_host()])
    )


def test_non_accepted_registrations_never_match():
    pending = exact_host("reg_pending")
    pending["status"] = "pending"
    unknown = exact_host("reg_nostatus")
    del unknown["status"]
    index = MatchIndex.build([pending, unknown])
    assert len(index) == 1
    assert ids(best_matches(visitor_seeker(), index)) == ["reg_nostatus"]
    rejected_seeker = visitor_seeker(status="rejected")
    assert best_matches(rejected_seeker, index) == []


def test_reasons_name_shared_ecosystems_country_type_objective_dates_languages_and_interests():
    (match,) = best_matches(visitor_seeker(), MatchIndex.build([exact_host()]))
    assert match.reasons == (
        "shares ecosystems digital and energy_renewables",
        "host in a preferred country: DE",
        "organisation type you prefer: cluster_organisation",
        "works in ecosystems you prefer: digital, energy_renewables",
        "offers your objective technology_uptake",
        "available 2027-04 to 2027-06",
        "common language: en",
        "similar interests: smart grid, iot, solar",
    )


def test_reasons_only_for_components_that_contributed():
    # Partial host: digital and textiles, no preferences, no dates, French only, nothing in common
    # in its text; its open window covers the seeker's.
    (match,) = best_matches(visitor_seeker(), MatchIndex.build([partial_host()]))
    assert match.reasons == (
        "shares ecosystem digital",
        "works in ecosystems you prefer: digital",
        "available 2027-04 to 2027-06",
    )
    expected = WEIGHTS["ecosystems"] / 3 + WEIGHTS["preferred_ecosystems"] / 2 + WEIGHTS["availability"]
    assert match.score == round(expected, 3)


def test_host_seeker_sees_the_visitor_side_of_preferences():
    host = exact_host("reg_me_host")
    visitor = visitor_seeker()
    (match,) = best_matches(host, MatchIndex.build([visitor]))
    assert match.id == "reg_seeker"
    assert "wants to visit your country: DE" in match.reasons
    assert "prefers your organisation type: cluster_organisation" in match.reasons
    assert "prefers your ecosystems: digital, energy_renewables" in match.reasons
    assert "seeks technology_uptake, which you offer" in match.reasons
    # Both sides see the same pair the same way.
    (back,) = best_matches(visitor, MatchIndex.build([host]))
    assert back.score == match.score


def test_both_role_seeker_gets_hosts_and_visitors_unless_a_role_is_given():
    seeker = visitor_seeker(roles=["visitor", "host"], hosting={"capacity": 1, "offer": "Mentoring."})
    visitor = registration("reg_v", organisation={"country": "FR"})
    index = MatchIndex.build([exact_host(), visitor])
    assert sorted(ids(best_matches(seeker, index))) == ["reg_exact", "reg_v"]
    assert ids(best_matches(seeker, index, role="host")) == ["reg_exact"]
    assert ids(best_matches(seeker, index, role="visitor")) == ["reg_v"]
    assert best_matches(visitor_seeker(), index, role="visitor") == []
    with pytest.raises(ValueError):
        best_matches(seeker, index, role="sponsor")


def test_ties_are_broken_by_id_and_do_not_depend_on_input_order():
    hosts = [exact_host(f"reg_{name}") for name in ("delta", "alpha", "charlie", "bravo")]
    for host in hosts:
        host["organisation"]["name"] = "Same Name"
    first = best_matches(visitor_seeker(), MatchIndex.build(hosts))
    assert len({m.score for m in first}) == 1
    assert ids(first) == ["reg_alpha", "reg_bravo", "reg_charlie", "reg_delta"]
    shuffled = hosts[:]
    random.Random(4).shuffle(shuffled)
    again = best_matches(visitor_seeker(), MatchIndex.build(shuffled))
    assert [(m.id, m.score, m.reasons) for m in again] == [(m.id, m.score, m.reasons) for m in first]
    assert ids(best_matches(visitor_seeker(), MatchIndex.build(hosts), limit=2)) == ["reg_alpha", "reg_bravo"]


def test_limit_and_empty_index():
    assert best_matches(visitor_seeker(), MatchIndex.build([])) == []
    index = MatchIndex.build([exact_host(), partial_host()])
    assert len(best_matches(visitor_seeker(), index, limit=1)) == 1
    assert best_matches(visitor_seeker(), index, limit=0) == []


def test_index_lookups():
    index = MatchIndex.build([partial_host(), exact_host()])
    assert len(index) == 2
    row = index.position("reg_exact")
    assert row is not None
    assert index.ids[row] == "reg_exact"
    assert index.position_for_user("user-reg_partial") == index.position("reg_partial")
    assert index.position("reg_missing") is None
    assert index.position_for_user("nobody") is None
    assert {"smart_grid", "iot", "solar"} <= index.tokens_at(row)
    assert index.card(row)["id"] == "reg_exact"


def test_pruned_top_k_equals_full_ranking_on_synthetic_data():
    regs = make_registrations(3000, seed=11)
    index = MatchIndex.build(regs)
    rng = random.Random(2)
    for seeker in rng.sample(regs, 25):
        everything = best_matches(seeker, index, limit=len(index))
        top = best_matches(seeker, index, limit=7)
        assert [(m.id, m.score, m.reasons) for m in top] == [
            (m.id, m.score, m.reasons) for m in everything[:7]
        ]


def test_synthetic_matches_respect_every_exclusion():
    regs = make_registrations(2000, seed=5)
    by_id = {reg["id"]: reg for reg in regs}
    index = MatchIndex.build(regs)
    for seeker in random.Random(9).sample(regs, 40):
        for match in best_matches(seeker, index, limit=50):
            other = by_id[match.id]
            assert match.id != seeker["id"]
            assert other["organisation"]["country"] != seeker["organisation"]["country"]
            assert 0.0 <= match.score <= 1.0
            as_host = "host" in other["roles"] and "visitor" in seeker["roles"]
            as_visitor = "visitor" in other["roles"] and "host" in seeker["roles"]
            assert as_host or as_visitor
            if not as_host:
                assert not other["exchanges"]["visited"]
            assert not PERSONAL_KEYS & set(match.card["representative"])


def test_the_index_knows_exactly_the_reference_codes():
    # The index's bit positions are fixed in code; they must name the same codes as the data files.
    from chalicelib import reference
    from chalicelib.rules.matching import features as matching

    assert set(matching.ECOSYSTEMS) == set(reference.ecosystems())
    assert set(matching.OBJECTIVES) == set(reference.objectives())
    assert set(matching.ORGANISATION_TYPES) == set(reference.organisation_types())
