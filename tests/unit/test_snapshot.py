"""The index snapshot (chalicelib.rules.matching.snapshot): what a container loads answers exactly as
the index it was dumped from, and only this format is read."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest

from chalicelib.rules.matching import snapshot
from chalicelib.rules.matching.catalogue import catalogue_page
from chalicelib.rules.matching.index import MatchIndex
from chalicelib.rules.matching.query import CatalogueQuery
from chalicelib.rules.matching.scoring import best_matches
from infra.synthetic import make_registrations, registration


@pytest.fixture(scope="module")
def population():
    regs = make_registrations(1500, seed=11)
    # Text the packing must carry as is: non-ASCII, a separator-like character, an emoji.
    regs.append(
        registration(
            "reg_unicode",
            organisation={"name": "Ölwerk Šibenik ☀", "country": "HR", "description": "Æble\x1f test 🚀"},
        )
    )
    index = MatchIndex.build(regs)
    return regs, index, snapshot.load(snapshot.dump(index))


def test_a_loaded_snapshot_matches_as_the_built_index(population):
    # Given an index and the one loaded from its snapshot
    regs, built, loaded = population
    rng = random.Random(5)
    # Then every seeker gets the same matches, reasons and cards, page after page
    for seeker in rng.sample(regs, 60):
        assert best_matches(seeker, loaded, limit=15) == best_matches(seeker, built, limit=15)
        after = best_matches(seeker, built, limit=5)[-1].position if best_matches(seeker, built, 5) else None
        assert best_matches(seeker, loaded, 5, after=after) == best_matches(seeker, built, 5, after=after)


@pytest.mark.parametrize(
    "query",
    [
        CatalogueQuery(),
        CatalogueQuery(q="iot"),
        CatalogueQuery(q="šibenik"),
        CatalogueQuery(role="host", country="DE"),
        CatalogueQuery(language="fr", ecosystem="digital"),
        CatalogueQuery(available_from="2027-05-01", available_to="2027-08-31", q="labs"),
    ],
)
def test_a_loaded_snapshot_browses_as_the_built_index(population, query):
    _regs, built, loaded = population
    after = None
    for _ in range(3):
        got, got_after = catalogue_page(loaded, query, 25, after)
        want, want_after = catalogue_page(built, query, 25, after)
        assert (got, got_after) == (want, want_after)
        after = want_after


def test_every_card_and_lookup_survives(population):
    _regs, built, loaded = population
    assert len(loaded) == len(built)
    assert [loaded.card(row) for row in range(len(built))] == [built.card(row) for row in range(len(built))]
    assert loaded.ids_by_rank == built.ids_by_rank
    assert dict(loaded.org_codes) == dict(built.org_codes)
    assert loaded.common_tokens == built.common_tokens
    assert dict(loaded.positions) == dict(built.positions)
    assert dict(loaded.user_positions) == dict(built.user_positions)
    assert loaded.position("reg_unicode") is not None


def test_an_empty_index_round_trips():
    loaded = snapshot.load(snapshot.dump(MatchIndex.build([])))
    assert len(loaded) == 0
    assert catalogue_page(loaded, CatalogueQuery(), 20) == ([], None)


def test_another_format_or_other_bytes_are_refused(population):
    _regs, built, _loaded = population
    data = snapshot.dump(built)
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["format_version"] = np.array([snapshot.FORMAT_VERSION + 1])
    other = io.BytesIO()
    np.savez(other, **arrays)
    with pytest.raises(snapshot.SnapshotFormatError):
        snapshot.load(other.getvalue())
    with pytest.raises(snapshot.SnapshotFormatError):
        snapshot.load(b"not a snapshot")
