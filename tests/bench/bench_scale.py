"""Benchmark of the matching index at scale (100,000 and 1,000,000 registrations by default): build
time, snapshot size, and what a fresh container pays and holds: the snapshot's load time in a fresh
interpreter, the memory the loaded index takes (RSS growth and the arrays' nbytes), the peak, and
`best_matches` and `catalogue_page` latency on the loaded index.

The parent generates the registrations (`infra.synthetic`), builds and dumps the index to a temporary
file, then starts a fresh interpreter that imports the app (as a Lambda's does), reads the file and
times `snapshot.load`: a fresh container's first matches request, less the S3 download. Memory is
measured in that child, so the generator's and builder's garbage never counts against the index.

Run: python -m tests.bench.bench_scale [--n 100000 1000000] [--calls 300]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from tests.bench import summary

# A Lambda of 1,024 MB: the whole process (runtime, app, index and a request's garbage) must fit.
LAMBDA_MB = 1024
FIRST_REQUEST_BUDGET_S = 1.0


def _rss_mb(field: str = "VmRSS") -> float:
    # Linux only, as Lambda is; VmHWM is the process's peak resident set.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _p(samples_ms: list[float], q: float) -> float:
    ordered = sorted(samples_ms)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _array_bytes(index: Any) -> dict[str, int]:
    """nbytes of every numpy array the index holds, by attribute (the cards' compressed runs too)."""
    import numpy as np

    values = {field.name: getattr(index, field.name) for field in dataclasses.fields(index)}
    found = {name: value.nbytes for name, value in values.items() if isinstance(value, np.ndarray)}
    # A loaded index keeps its cards' compressed runs in the closure that inflates them.
    for value in _cards_closure(index):
        if isinstance(value, np.ndarray):
            found["cards (compressed runs)"] = found.get("cards (compressed runs)", 0) + value.nbytes
    return found


def _cards_closure(index: Any) -> Iterator[Any]:
    """What the functions that make the index's cards keep in their closures (followed through the
    functions they keep in turn), each value once."""
    functions, seen = [getattr(index.cards, "_make", None)], set()
    while functions:
        function = functions.pop()
        function = getattr(function, "__wrapped__", function)
        if function is None or id(function) in seen:
            continue
        seen.add(id(function))
        for cell in getattr(function, "__closure__", None) or ():
            value = cell.cell_contents
            if callable(value):
                functions.append(value)
            else:
                yield value


def _deep_size(value: Any) -> int:
    """Bytes of a Python collection and the strings, numbers and tuples it holds (shared objects are
    counted once per collection: an upper bound where two collections share their strings)."""
    seen: set[int] = set()
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict) or type(item).__name__ == "mappingproxy":
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, tuple | list | frozenset | set):
            stack.extend(item)
    return total


def _python_bytes(index: Any) -> dict[str, int]:
    """Bytes of each of the index's Python fields (not numpy arrays), and of the lists its cards'
    closure keeps (each card's start and end, each run's offset)."""
    import numpy as np

    found = {}
    for field in dataclasses.fields(index):
        value = getattr(index, field.name)
        if not isinstance(value, np.ndarray) and field.name != "cards":
            found[field.name] = _deep_size(value)
    for value in _cards_closure(index):
        if isinstance(value, list):
            found["cards (offset lists)"] = found.get("cards (offset lists)", 0) + _deep_size(value)
    return found


def fresh_container(snapshot_path: str, seekers_path: str, calls: int) -> dict[str, Any]:
    """What a fresh container does on its first matches request (in this fresh interpreter), then warm
    calls. Returns the figures as a dict (printed as JSON for the parent)."""
    import tests.conftest  # noqa: F401  (the test environment: region, fake credentials, table names)

    started = time.perf_counter()
    import app  # noqa: F401  (the app's own baseline memory, as in a Lambda)

    app_import_s = time.perf_counter() - started
    started = time.perf_counter()
    from chalicelib.rules.matching import snapshot
    from chalicelib.rules.matching.catalogue import catalogue_page
    from chalicelib.rules.matching.scoring import best_matches

    matching_import_s = time.perf_counter() - started
    gc.collect()
    baseline_mb = _rss_mb()
    with open(snapshot_path, "rb") as f:
        data = f.read()
    started = time.perf_counter()
    index = snapshot.load(data)
    load_s = time.perf_counter() - started
    del data
    gc.collect()
    loaded_mb = _rss_mb()
    peak_mb = _rss_mb("VmHWM")
    arrays = _array_bytes(index)

    with open(seekers_path) as f:
        seekers = json.load(f)
    from tests.bench.bench_matching_compute import _random_query

    rng = random.Random(11)
    for seeker in seekers[:10]:  # warm-up, as in a warm Lambda
        best_matches(seeker, index, limit=20)
    match_ms = []
    for i in range(calls):
        seeker = seekers[i % len(seekers)]
        started = time.perf_counter()
        best_matches(seeker, index, limit=20)
        match_ms.append((time.perf_counter() - started) * 1000)
    page_ms = []
    for _ in range(calls):
        query = _random_query(rng)
        started = time.perf_counter()
        catalogue_page(index, query, 20)
        page_ms.append((time.perf_counter() - started) * 1000)
    return {
        "entries": len(index),
        "app_import_s": app_import_s,
        "matching_import_s": matching_import_s,
        "load_s": load_s,
        "baseline_mb": baseline_mb,
        "index_mb": loaded_mb - baseline_mb,
        "after_calls_mb": _rss_mb(),
        "peak_mb": max(peak_mb, _rss_mb("VmHWM")),
        "arrays_mb": sum(arrays.values()) / 2**20,
        "largest_arrays": sorted(arrays.items(), key=lambda kv: -kv[1])[:6],
        "python_fields": sorted(_python_bytes(index).items(), key=lambda kv: -kv[1]),
        "search_text_mb": len(index.search_blob.encode("utf-8")) / 2**20,
        "match_p50_ms": statistics.median(match_ms),
        "match_p95_ms": _p(match_ms, 0.95),
        "page_p50_ms": statistics.median(page_ms),
        "page_p95_ms": _p(page_ms, 0.95),
    }


def measure(n: int, calls: int, seed: int = 7) -> dict[str, Any]:
    from chalicelib.rules.matching import snapshot
    from chalicelib.rules.matching.index import MatchIndex
    from infra.synthetic import make_registrations

    started = time.perf_counter()
    regs = make_registrations(n, seed=seed)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    index = MatchIndex.build(regs)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    data = snapshot.dump(index)
    dump_s = time.perf_counter() - started
    seekers = random.Random(seed + 1).sample(regs, min(200, len(regs)))
    del index, regs
    gc.collect()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory() as tmp:
        snapshot_path, seekers_path = os.path.join(tmp, "index.npz"), os.path.join(tmp, "seekers.json")
        with open(snapshot_path, "wb") as f:
            f.write(data)
        with open(seekers_path, "w") as f:
            json.dump(seekers, f)
        size_mb = len(data) / 2**20
        del data
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                __spec__.name if __spec__ else "tests.bench.bench_scale",
                "--fresh-container",
                snapshot_path,
                seekers_path,
                "--calls",
                str(calls),
            ],
            cwd=root,
            capture_output=True,
            text=True,
        )
    if child.returncode != 0:
        raise RuntimeError(f"the fresh interpreter failed:\n{child.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return {
        "n": n,
        "generate_s": generate_s,
        "build_s": build_s,
        "dump_s": dump_s,
        "snapshot_mb": size_mb,
        **figures,
    }


def report(figures: dict[str, Any]) -> None:
    f = figures
    print(f"{f['n']:,} registrations ({f['entries']:,} accepted, in the index)")
    print(
        f"  generate {f['generate_s']:.1f} s, build {f['build_s']:.1f} s, snapshot dump {f['dump_s']:.1f} s"
    )
    print(f"  snapshot {f['snapshot_mb']:.1f} MB")
    print(
        f"  fresh interpreter: import app {f['app_import_s']:.2f} s, matching modules (numpy)"
        f" {f['matching_import_s']:.2f} s, snapshot.load {f['load_s']:.2f} s"
    )
    print(
        f"  memory: app baseline {f['baseline_mb']:.0f} MB RSS; loaded index +{f['index_mb']:.0f} MB RSS"
        f" (numpy arrays {f['arrays_mb']:.0f} MB, the rest Python strings, tuples and dicts);"
        f" peak {f['peak_mb']:.0f} MB; after the calls {f['after_calls_mb']:.0f} MB"
    )
    largest = ", ".join(f"{name} {size / 2**20:.0f} MB" for name, size in f["largest_arrays"])
    print(f"  largest arrays: {largest}; search text {f['search_text_mb']:.0f} MB (UTF-8)")
    fields = ", ".join(f"{name} {size / 2**20:.0f} MB" for name, size in f["python_fields"] if size >= 2**20)
    print(f"  Python fields (deep sizes, shared strings counted in each): {fields}")
    print(f"  best_matches (limit 20): p50 {f['match_p50_ms']:.2f} ms, p95 {f['match_p95_ms']:.2f} ms")
    print(f"  catalogue_page (limit 20): p50 {f['page_p50_ms']:.2f} ms, p95 {f['page_p95_ms']:.2f} ms")
    fits = f["peak_mb"] <= LAMBDA_MB
    print(f"  fits one Lambda of {LAMBDA_MB} MB (peak RSS): {'yes' if fits else 'NO'}")


def rows(figures: list[dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """Summary rows for `make bench`: (target, figure, met)."""
    out: list[tuple[str, str, bool | None]] = []
    for f in figures:
        first = f["matching_import_s"] + f["load_s"]
        out += [
            (
                f"{f['n']:,}: fits one Lambda of {LAMBDA_MB} MB (peak RSS)",
                f"peak {f['peak_mb']:.0f} MB, index +{f['index_mb']:.0f} MB",
                f["peak_mb"] <= LAMBDA_MB,
            ),
            (
                f"{f['n']:,}: fresh container loads the index <= {FIRST_REQUEST_BUDGET_S:.0f} s",
                f"{first:.2f} s (numpy import {f['matching_import_s']:.2f} + load {f['load_s']:.2f})",
                first <= FIRST_REQUEST_BUDGET_S,
            ),
            (
                f"{f['n']:,}: best_matches p50/p95",
                f"{f['match_p50_ms']:.1f}/{f['match_p95_ms']:.1f} ms",
                None,
            ),
            (
                f"{f['n']:,}: catalogue_page p50/p95",
                f"{f['page_p50_ms']:.1f}/{f['page_p95_ms']:.1f} ms",
                None,
            ),
            (f"{f['n']:,}: index build", f"{f['build_s']:.1f} s", None),
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--fresh-container", nargs=2, metavar=("SNAPSHOT", "SEEKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fresh_container:
        print(json.dumps(fresh_container(*args.fresh_container, args.calls)))
        return
    measured = []
    for n in args.n:
        measured.append(measure(n, args.calls))
        report(measured[-1])
    summary.record("scale", rows(measured))


if __name__ == "__main__":
    main()
