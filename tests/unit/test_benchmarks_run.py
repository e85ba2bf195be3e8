"""Each benchmark runs in a tiny mode (CI checks they run; their figures are for `make bench`)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.bench import summary

ROOT = __file__.rsplit("/tests/", 1)[0]


@pytest.mark.parametrize(
    "args",
    [
        ["tests.bench.bench_cold_start", "--runs", "1"],
        ["tests.bench.bench_matching_compute", "--n", "300", "--calls", "5"],
        ["tests.bench.bench_requests", "--n", "200", "--requests", "3"],
        [
            "tests.bench.bench_aws_calls",
            "--tests",
            "tests/api/test_finalisation.py::test_a_virtual_exchange_has_nothing_to_pay_and_is_closed",
        ],
        ["tests.bench.bench_handler_overhead", "--calls", "3"],
        ["tests.bench.bench_scale", "--n", "300", "--calls", "5"],
    ],
    ids=lambda args: args[0].rsplit(".", 1)[-1],
)
def test_the_benchmark_runs_in_a_tiny_mode(args, tmp_path):
    summary_file = tmp_path / "summary.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        env={**os.environ, summary.ENV: str(summary_file)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()
    # Its targets reach the table `make bench` prints at the end.
    printed = "\n".join(summary.table(str(summary_file)))
    assert summary_file.read_text().strip()
    assert args[0].rsplit(".", 1)[-1].removeprefix("bench_") in printed
