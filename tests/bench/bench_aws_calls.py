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


def rows(tests: list[str]) -> list[tuple[str, str, str]]:
    out = []
    for name, figures in measure(tests).items():
        ops = ", ".join(f"{op} {n:.2g}" for op, n in figures["operations"].items()) or "none"
        out.append(
            (name, f"{figures['mean']:.1f} (max {figures['max']})", f"n={figures['invocations']}: {ops}")
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tests", nargs="*", default=list(FULL_LIFE))
    args = parser.parse_args()
    print("AWS calls per invocation (DynamoDB, S3, SQS, SES)")
    for name, calls, detail in rows(args.tests):
        print(f"  {name:70s} {calls:>14s}  {detail}")


if __name__ == "__main__":
    main()
