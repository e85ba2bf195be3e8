"""The pairing rules (chalicelib.rules.pairing): one definition for contact requests and matches."""

from __future__ import annotations

import random

import numpy as np
import pytest

from chalicelib.rules import RuleViolation, pairing
from chalicelib.rules.contact import MAX_OPEN_REQUESTS, check_open_requests, contact_pairing
from chalicelib.rules.matching.features import features_of, organisation_key
from chalicelib.rules.matching.index import MatchIndex
from chalicelib.rules.matching.scoring import best_matches
from infra.synthetic import make_registrations, registration


def party(reg_id, roles, country="IT", visited=False):
    return registration(
        reg_id,
        roles=roles,
        organisation={"country": country},
        exchanges={"visited": visited, "hosting_periods": []},
    )


def refused(sender, recipient):
    with pytest.raises(RuleViolation) as caught:
        contact_pairing(sender, recipient)
    assert caught.value.field == "to"
    return caught.value.code


# contact_pairing: the scalar check of one pair, as the contact-request service calls it


def test_a_visitor_and_a_host_abroad_pair_either_way_round():
    visitor, host = party("reg_v", ["visitor"]), party("reg_h", ["host"], "DE")
    assert contact_pairing(visitor, host) == ("reg_v", "reg_h")
    assert contact_pairing(host, visitor) == ("reg_v", "reg_h")


def test_refusals_keep_their_codes():
    visitor = party("reg_v", ["visitor"])
    assert refused(visitor, visitor) == "CANNOT_CONTACT_SELF"
    assert refused(visitor, party("reg_h", ["host"], "IT")) == "SAME_COUNTRY"
    assert refused(visitor, party("reg_h", ["host"], " it ")) == "SAME_COUNTRY"  # as the index compares
    assert refused(visitor, party("reg_v2", ["visitor"], "DE")) == "ROLES_DO_NOT_MATCH"
    assert refused(party("reg_h", ["host"]), party("reg_h2", ["host"], "DE")) == "ROLES_DO_NOT_MATCH"
    assert refused(party("reg_x", []), party("reg_h", ["host"], "DE")) == "ROLES_DO_NOT_MATCH"
    visited = party("reg_done", ["visitor"], visited=True)
    assert refused(visited, party("reg_h", ["host"], "DE")) == "VISITOR_ALREADY_VISITED"
    assert refused(party("reg_h", ["host"], "DE"), visited) == "VISITOR_ALREADY_VISITED"


def test_a_visitor_who_visited_may_still_host():
    # Both have both roles; the sender already visited, so the only pairing left is the other way.
    sender = party("reg_a", ["visitor", "host"], visited=True)
    recipient = party("reg_b", ["visitor", "host"], "DE")
    assert contact_pairing(sender, recipient) == ("reg_b", "reg_a")
    # With both ways open, the sender visits.
    assert contact_pairing(party("reg_a", ["visitor", "host"]), recipient) == ("reg_a", "reg_b")
    # Both visited: nobody may visit.
    both_done = party("reg_b", ["visitor", "host"], "DE", visited=True)
    assert refused(sender, both_done) == "VISITOR_ALREADY_VISITED"


def test_open_requests_limit():
    check_open_requests(MAX_OPEN_REQUESTS - 1)
    with pytest.raises(RuleViolation) as caught:
        check_open_requests(MAX_OPEN_REQUESTS)
    assert caught.value.code == "TOO_MANY_OPEN_REQUESTS"


# The predicates hold for single values and elementwise for the index's columns alike


def test_predicates_are_the_same_on_scalars_and_arrays():
    roles = np.array([0, 1, 2, 3] * 4, dtype=np.uint8)
    other = np.repeat(np.array([0, 1, 2, 3], dtype=np.uint8), 4)
    vectorised = pairing.may_visit(roles, other)
    scalar = [bool(pairing.may_visit(int(a), int(b))) for a, b in zip(roles, other, strict=True)]
    assert vectorised.tolist() == scalar
    capacity = np.array([0, 1, 2, 2, 1], dtype=np.int32)
    taken = np.array([0, 0, 1, 2, 3])
    assert pairing.host_full(capacity, taken).tolist() == [
        pairing.host_full(int(c), int(t)) for c, t in zip(capacity, taken, strict=True)
    ]
    countries = np.array([0, 1, 2], dtype=np.int16)
    assert pairing.transnational(countries, 1).tolist() == [True, False, True]


def test_open_roles_drop_only_the_visitor_role_of_a_visitor_who_visited():
    both = pairing.VISITOR | pairing.HOST
    assert pairing.open_roles(both, visited=False) == both
    assert pairing.open_roles(both, visited=True) == pairing.HOST
    assert pairing.open_roles(pairing.VISITOR, visited=True) == 0
    assert pairing.open_roles(pairing.HOST, visited=True) == pairing.HOST


def test_capacity_absent_malformed_or_closed():
    assert pairing.host_capacity(None) == 1
    assert pairing.host_capacity({"offer": "x"}) == 1
    assert pairing.host_capacity({"capacity": "3"}) == 1
    assert pairing.host_capacity({"capacity": 3}) == 3
    assert pairing.host_capacity({"capacity": 0}) == 0
    assert pairing.host_full(0, pairing.taken_in([], 1, 10))
    assert pairing.taken_in([(1, 5), (6, 9), (20, 30)], 5, 6) == 2


# Matches and the scalar rules agree over a generated population


@pytest.fixture(scope="module")
def population():
    regs = make_registrations(1500, seed=21)
    # Some visitors with both roles who already visited, so both directions are exercised.
    for reg in random.Random(3).sample(regs, 150):
        reg["roles"] = ["visitor", "host"]
        reg["hosting"] = {"capacity": 1, "offer": "Visits."}
        reg["exchanges"]["visited"] = True
    return regs, MatchIndex.build(regs)


def expected_candidates(seeker, regs, role):
    """The candidates the scalar definitions allow, one pair at a time."""
    me = features_of(seeker)
    me_party = pairing.Party.of(seeker)
    my_org = organisation_key(seeker["organisation"]["name"], me.country)
    out = set()
    for reg in regs:
        them = features_of(reg)
        if reg["id"] == me.id or them.user_id == me.user_id:
            continue
        if organisation_key(reg["organisation"]["name"], them.country) == my_org:
            continue
        if not pairing.transnational(me_party.country, pairing.Party.of(reg).country):
            continue
        taken = pairing.taken_in(them.periods, me.avail_from, me.avail_to)
        room = not pairing.host_full(them.capacity, taken)
        as_host = role in (None, "host") and pairing.may_visit(me.open_roles, them.open_roles) and room
        as_visitor = role in (None, "visitor") and pairing.may_visit(them.open_roles, me.open_roles)
        if as_host or as_visitor:
            out.add(reg["id"])
    return out


def test_a_candidate_is_matched_only_if_the_contact_check_accepts_the_pair(population):
    regs, index = population
    by_id = {reg["id"]: reg for reg in regs}
    checked = 0
    for seeker in random.Random(5).sample(regs, 60):
        for match in best_matches(seeker, index, limit=len(index)):
            visitor, host = contact_pairing(seeker, by_id[match.id])  # raises if the rules refuse
            assert {visitor, host} == {seeker["id"], match.id}
            checked += 1
    assert checked > 10_000


@pytest.mark.parametrize("role", [None, "host", "visitor"])
def test_the_index_filter_equals_the_scalar_rules(population, role):
    regs, index = population
    seekers = random.Random(6).sample(regs, 25)
    assert any(pairing.Party.of(s).visited and pairing.Party.of(s).roles == 3 for s in seekers)
    for seeker in seekers:
        got = {m.id for m in best_matches(seeker, index, limit=len(index), role=role)}
        assert got == expected_candidates(seeker, regs, role), seeker["id"]
