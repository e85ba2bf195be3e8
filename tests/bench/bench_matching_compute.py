"""Benchmark of the matching and catalogue compute over 100,000 synthetic registrations (warm, in
memory): index build time, then best_matches and catalogue_page latency percentiles.

Run: python -m tests.bench.bench_matching_compute [--n 100000] [--calls 500]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from chalicelib.rules.matching.catalogue import catalogue_page
from chalicelib.rules.matching.index import MatchIndex
from chalicelib.rules.matching.query import CatalogueQuery
from chalicelib.rules.matching.scoring import best_matches
from infra.synthetic import COUNTRIES, ECOSYSTEMS, HOST_ONLY_TYPES, VISITOR_TYPES, make_registrations
from tests.bench import summary

MATCH_P95_BUDGET_MS = 50.0
CATALOGUE_P95_BUDGET_MS = 30.0
SEARCH_WORDS = ("iot", "smart grid", "solar", "textile", "öko", "labs", "medical devices", "hub", "zzz-none")


def _percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"p50 {statistics.median(ordered):6.2f} ms  p95 {p95:6.2f} ms  max {ordered[-1]:6.2f} ms"
        f"  (n={len(ordered)})"
    )


def _p95(samples_ms: list[float]) -> float:
    ordered = sorted(samples_ms)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000.0


def _random_query(rng: random.Random) -> CatalogueQuery:
    def maybe(value: str, chance: float) -> str | None:
        return value if rng.random() < chance else None

    return CatalogueQuery(
        role=maybe(rng.choice(("host", "visitor")), 0.6),
        country=maybe(rng.choice(list(COUNTRIES)), 0.4),
        ecosystem=maybe(rng.choice(ECOSYSTEMS), 0.4),
        organisation_type=maybe(rng.choice(VISITOR_TYPES + HOST_ONLY_TYPES), 0.2),
        language=maybe(rng.choice(("en", "de", "fr", "it", "es")), 0.3),
        q=maybe(rng.choice(SEARCH_WORDS), 0.4),
        available_from=maybe("2027-05-01", 0.2),
        available_to=maybe("2027-08-31", 0.2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="registrations to generate")
    parser.add_argument("--calls", type=int, default=500, help="calls of each kind to time")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    start = time.perf_counter()
    regs = make_registrations(args.n, seed=args.seed)
    print(f"generated {len(regs):,} registrations in {time.perf_counter() - start:.2f} s")

    start = time.perf_counter()
    index = MatchIndex.build(regs)
    print(f"index build: {time.perf_counter() - start:.2f} s for {len(index):,} accepted registrations")

    rng = random.Random(args.seed + 1)
    for seeker in rng.sample(regs, 10):  # warm-up, as in a warm Lambda
        best_matches(seeker, index)
    match_ms = []
    found = 0
    for seeker in rng.sample(regs, args.calls):
        match_ms.append(_timed(lambda seeker=seeker: best_matches(seeker, index, limit=20)))
        found += len(best_matches(seeker, index, limit=20)) if len(match_ms) <= 20 else 0
    print(f"best_matches (limit 20): {_percentiles(match_ms)}")

    page_ms = []
    sizes = []
    followed = 0
    for _ in range(args.calls):
        query = _random_query(rng)
        cards, cursor = catalogue_page(index, query, 20)
        sizes.append(len(cards))
        if cursor is not None and rng.random() < 0.5:
            # Time a continuation page, as a client scrolling on.
            followed += 1
            page_ms.append(
                _timed(lambda query=query, cursor=cursor: catalogue_page(index, query, 20, cursor))
            )
        else:
            page_ms.append(_timed(lambda query=query: catalogue_page(index, query, 20)))
    print(f"catalogue_page (limit 20): {_percentiles(page_ms)}; {followed} were continuation pages")
    print(f"  pages: {sum(1 for s in sizes if s == 0)} empty, {sum(1 for s in sizes if s == 20)} full")

    verdicts = [
        ("best_matches p95", _p95(match_ms), MATCH_P95_BUDGET_MS),
        ("catalogue_page p95", _p95(page_ms), CATALOGUE_P95_BUDGET_MS),
    ]
    for name, value, budget in verdicts:
        print(
            f"{name}: {value:.2f} ms against a {budget:.0f} ms budget: {'ok' if value <= budget else 'OVER'}"
        )
    summary.record(
        "matching_compute",
        [
            (f"{name} <= {budget:.0f} ms ({len(index):,} in the index)", f"{value:.2f} ms", value <= budget)
            for name, value, budget in verdicts
        ],
    )
    print(f"(sanity: the first 20 seekers got {found} matches)")


if __name__ == "__main__":
    main()
