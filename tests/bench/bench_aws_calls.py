"""Benchmark of AWS calls per invocation over whole exchange lives (draft to paid, as the exchange and
finalisation tests drive them in-process: the Chalice app, the event pump, moto): for every route and
event function reached, the DynamoDB/S3/SQS/SES calls one invocation makes (mean and max).

Run: python -m tests.bench.bench_aws_calls [--tests tests/api/test_exchanges.py ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

from tests.bench import summary

FULL_LIFE = ("tests/api/test_exchanges.py", "tests/api/test_finalisation.py")


def measure(tests: list[str]) -> dict[str, Any]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "calls.json")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "tests.bench.aws_calls",
                "-p",
                "no:cacheprovider",
                *tests,
            ],
            cwd=root,
            env={**os.environ, "CXC_AWS_CALLS_OUT": out},
            check=True,
            capture_output=True,
        )
        with open(out) as f:
            return dict(json.load(f))


def targets(measured: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """The issue's targets over what was measured: a read by id 1 call, a state change at most 3, no Scan."""
    by_id = {
        name: f
        for name, f in measured.items()
        if name.startswith("GET ") and "{" in name and not name.endswith("/history")
    }
    changes = {
        name: f for name, f in measured.items() if name.split(" ", 1)[0] in ("POST", "PATCH", "PUT", "DELETE")
    }
    scans = sorted(
        name for name, f in measured.items() if any(op.endswith(".Scan") for op in f["operations"])
    )
    over_one = sorted(name for name, f in by_id.items() if f["mean"] > 1)
    over_three = sorted(name for name, f in changes.items() if f["mean"] > 3)
    return [
        (
            "a read by id: 1 AWS call",
            f"{len(by_id) - len(over_one)} of {len(by_id)} routes"
            + (f"; over: {', '.join(over_one)}" if over_one else ""),
            not over_one if by_id else None,
        ),
        (
            "a state change: at most 3 AWS calls (mean)",
            f"{len(changes) - len(over_three)} of {len(changes)} routes; over: {len(over_three)}",
            not over_three if changes else None,
        ),
        ("no Scan", f"{len(scans)} invocations with a Scan", not scans),
    ]


def rows(measured: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for name, figures in measured.items():
        ops = ", ".join(f"{op} {n:.2g}" for op, n in figures["operations"].items()) or "none"
        out.append(
            (name, f"{figures['mean']:.1f} (max {figures['max']})", f"n={figures['invocations']}: {ops}")
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", nargs="*", default=list(FULL_LIFE))
    args = parser.parse_args()
    measured = measure(args.tests)
    print("AWS calls per invocation (DynamoDB, S3, SQS, SES)")
    for name, calls, detail in rows(measured):
        print(f"  {name:70s} {calls:>14s}  {detail}")
    summary.record("aws_calls", targets(measured))


if __name__ == "__main__":
    main()
