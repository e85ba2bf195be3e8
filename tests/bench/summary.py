"""The one table `make bench` prints at the end: every target, its figure, met or not.

Each benchmark prints its own output and, when CXC_BENCH_SUMMARY names a file, appends its targets
there as JSON lines (so no benchmark is run twice for the summary); `python -m tests.bench.summary FILE`
prints them. Run on its own, a benchmark records nothing.

Run: python -m tests.bench.summary FILE
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable

ENV = "CXC_BENCH_SUMMARY"


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def record(benchmark: str, rows: Iterable[tuple[str, str, bool | None]]) -> None:
    """Append (target, figure, met) rows for the summary; met None is a figure without a target."""
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a") as f:
        for target, figure, met in rows:
            f.write(
                json.dumps({"benchmark": benchmark, "target": target, "figure": figure, "met": met}) + "\n"
            )


def table(path: str) -> list[str]:
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        rows = []
    width = max([len(r["target"]) for r in rows] + [6])
    figure_width = max([len(r["figure"]) for r in rows] + [6])
    lines = [
        "summary: every target, its figure, met or not",
        f"  {'benchmark':24s} {'target':{width}s}  {'figure':{figure_width}s}  met",
    ]
    for r in rows:
        met = verdict(r["met"])
        lines.append(f"  {r['benchmark']:24s} {r['target']:{width}s}  {r['figure']:{figure_width}s}  {met}")
    if not rows:
        lines.append("  (no benchmark recorded a figure)")
    return lines


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print("\n".join(table(sys.argv[1])))


if __name__ == "__main__":
    main()
