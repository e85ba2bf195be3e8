"""Benchmark of cold start: the import of `app` (what every Lambda function of the app pays before its
first invocation) against the floor every Python function on AWS pays (`import boto3` and one DynamoDB
client), each in fresh interpreters, alternated in the same run so the machine's load hits both alike.

Each event function also imports, on its first invocation, the services its records need; its row is
`import app` plus those imports, so a heavy library pulled in by one function shows on that function.

Run: python -m tests.bench.bench_cold_start [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping

import tests.conftest  # noqa: F401  (the test environment: region, fake credentials, table names)
from tests.bench import summary

TARGET = 1.3
FLOOR_NAME = "floor: import boto3 + DynamoDB client"
FIRST_INVOCATION_SUFFIX = ": app + first invocation's imports"
FLOOR = "import boto3\nboto3.client('dynamodb', region_name='eu-west-1')"
APP = "import app"

# What each event function imports on its first invocation (chalicelib.handlers.events imports these
# inside the record handlers); a route's first call imports nothing more than `app` does but the
# matching rules (numpy) on the first catalogue or matches request.
FIRST_INVOCATION: Mapping[str, tuple[str, ...]] = {
    "on_registration_change": ("chalicelib.services.catalogue", "chalicelib.store.registrations"),
    # The dispatcher imports what an effect's handler needs; mail is the most frequent one.
    "deliver_effects": (
        "chalicelib.services.effects",
        "chalicelib.services.exchange_mail",
        "chalicelib.store.exchanges",
    ),
    "count_statistics": ("chalicelib.services.statistics",),
    "on_document_uploaded": ("chalicelib.services.uploads",),
    "on_payment_instruction": ("chalicelib.services.payments",),
    "on_payment_dead_letter": ("chalicelib.services.payments",),
    "tick": (
        "chalicelib.clock",
        "chalicelib.services.catalogue",
        "chalicelib.services.exchanges",
        "chalicelib.services.payments",
    ),
}


def _snippet(body: str) -> str:
    # Timed inside the fresh interpreter, so interpreter start-up (the same for both) is left out.
    lines = "\n".join(f"    {line}" for line in body.splitlines())
    return (
        "import time\n_t = time.perf_counter()\nif True:\n"
        f"{lines}\nprint((time.perf_counter() - _t) * 1000)\n"
    )


def _once(body: str, cwd: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _snippet(body)],
        cwd=cwd,
        # As in Lambda: the package holds our sources without bytecode and its file system is read-only,
        # so every cold start compiles the project's modules it imports (libraries ship their .pyc).
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def measure(runs: int) -> dict[str, float]:
    """Median milliseconds of each snippet over `runs` fresh interpreters, alternated."""
    cwd = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    snippets = {FLOOR_NAME: FLOOR, "import app": APP}
    for name, modules in FIRST_INVOCATION.items():
        snippets[f"{name}{FIRST_INVOCATION_SUFFIX}"] = "\n".join([APP, *(f"import {m}" for m in modules)])
    samples: dict[str, list[float]] = {name: [] for name in snippets}
    for _ in range(runs):
        for name, body in snippets.items():
            samples[name].append(_once(body, cwd))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    medians = measure(args.runs)
    floor = medians[FLOOR_NAME]
    print(f"cold start: medians of {args.runs} fresh processes, alternated")
    for name, ms in medians.items():
        print(f"  {name:60s} {f'{ms:.0f} ms':>8s}  {ms / floor:.2f}x floor")
    functions = {name: ms for name, ms in medians.items() if name.endswith(FIRST_INVOCATION_SUFFIX)}
    worst = max(functions, key=functions.__getitem__)
    summary.record(
        "cold_start",
        [
            (
                f"import app <= {TARGET}x the floor",
                f"{medians['import app'] / floor:.2f}x ({medians['import app']:.0f} against {floor:.0f} ms)",
                medians["import app"] / floor <= TARGET,
            ),
            (
                f"each event function's import <= {TARGET}x the floor",
                f"worst {functions[worst] / floor:.2f}x ({worst.split(':')[0]})",
                functions[worst] / floor <= TARGET,
            ),
        ],
    )


if __name__ == "__main__":
    main()
