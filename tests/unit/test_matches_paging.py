"""Matches page by position (chalicelib.rules.matching.matches_page): every candidate once, in the
order of the full ranking, pruning included."""

from __future__ import annotations

import random

import pytest

from chalicelib.rules.matching.index import MatchIndex
from chalicelib.rules.matching.query import MatchPosition
from chalicelib.rules.matching.scoring import best_matches, matches_page
from infra.synthetic import make_registrations


@pytest.fixture(scope="module")
def population():
    regs = make_registrations(2500, seed=13)
    return regs, MatchIndex.build(regs)


def walk(seeker, index, limit, role=None, after=None):
    seen, pages = [], 0
    while True:
        page, after = matches_page(seeker, index, limit, role, after)
        assert len(page) <= limit
        seen += page
        pages += 1
        if after is None:
            return seen, pages


def facts(matches):
    return [(m.id, m.score, m.reasons) for m in matches]


def test_paging_equals_the_full_ranking(population):
    regs, index = population
    for seeker in random.Random(1).sample(regs, 12):
        everything = best_matches(seeker, index, limit=len(index))
        for limit in (7, 20, 150):
            paged, pages = walk(seeker, index, limit)
            assert facts(paged) == facts(everything)
            assert pages == max(1, -(-len(everything) // limit))


@pytest.mark.parametrize("role", ["host", "visitor"])
def test_paging_with_a_role(population, role):
    regs, index = population
    both = [reg for reg in regs if set(reg["roles"]) == {"visitor", "host"}]
    for seeker in random.Random(2).sample(both, 5):
        everything = best_matches(seeker, index, limit=len(index), role=role)
        assert facts(walk(seeker, index, 25, role)[0]) == facts(everything)


def test_the_position_is_the_last_match_and_none_after_the_last_page(population):
    regs, index = population
    seeker = regs[0]
    everything = best_matches(seeker, index, limit=len(index))
    page, after = matches_page(seeker, index, 10)
    assert after == MatchPosition(round(page[-1].score * 1000), page[-1].id)
    assert facts(page) == facts(everything[:10])
    last, after = matches_page(seeker, index, len(everything))
    assert (len(last), after) == (len(everything), None)
    beyond = MatchPosition(0, "\U0010ffff")
    assert matches_page(seeker, index, 10, after=beyond) == ([], None)


def test_a_position_survives_a_rebuild_without_its_match(population):
    regs, index = population
    seeker = regs[5]
    first, after = matches_page(seeker, index, 20)
    assert after is not None
    rebuilt = MatchIndex.build([reg for reg in regs if reg["id"] != after.id])
    rest = walk(seeker, rebuilt, 20, after=after)[0]
    everything = best_matches(seeker, rebuilt, limit=len(rebuilt))
    assert facts(first[:-1] + rest) == facts(everything)


def test_ties_are_cut_by_id_across_pages(population):
    regs, index = population
    for seeker in random.Random(3).sample(regs, 20):
        everything = best_matches(seeker, index, limit=len(index))
        scores = [m.score for m in everything]
        if len(scores) != len(set(scores)):  # the draw has ties
            paged = walk(seeker, index, 1)[0]
            assert [m.id for m in paged] == [m.id for m in everything]
            return
    pytest.fail("no seeker with tied scores in the draw")
