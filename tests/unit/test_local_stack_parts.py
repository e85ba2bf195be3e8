"""The local stack's pure parts: the state folder's claim, the Python warning, the banner, the checks of
`token`'s options, and the Makefile's defaults (read with `make -n`, which runs nothing)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from infra.local.stack import (
    LocalStack,
    StackOptions,
    StateDirInUse,
    banner,
    claim_state_dir,
    python_note,
    state_file,
)
from infra.local.tokens import partnership_problem
from infra.resources import Resources
from tests.api.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_stack_is_refused_the_folder_of_a_running_one(tmp_path: Path):
    # Given a stack that holds the folder and has written its state
    first = claim_state_dir(tmp_path)
    state_file(tmp_path).write_text(json.dumps({"pid": 4242}))
    try:
        # When a second one starts there (on ports of its own)
        second = LocalStack(StackOptions(aws_port=free_port(), api_port=free_port(), state_dir=tmp_path))
        with pytest.raises(StateDirInUse, match=r"process 4242.*STATE_DIR="):
            second.start()
        second.stop()  # what __main__ does on a refusal
        # Then the first one's state is still there
        assert json.loads(state_file(tmp_path).read_text()) == {"pid": 4242}
    finally:
        os.close(first)
    # Once the first has stopped (or died: the kernel lets go of the lock), the folder is free again
    os.close(claim_state_dir(tmp_path))


def test_python_other_than_the_runtimes_is_warned_about():
    assert python_note((3, 12, 7)) is None
    note = python_note((3, 11, 7))
    assert note is not None and "3.11.7" in note and "3.12" in note


def test_the_banner_counts_what_the_stack_has():
    sources = [
        {"kind": s.kind, "source": s.source} for s in Resources.__dataclass_fields__["event_sources"].default
    ]
    state = {
        "api_url": "http://127.0.0.1:8000",
        "aws_endpoint": "http://127.0.0.1:5000",
        "user_pool_id": "pool",
        "app_client_id": "client",
        "buckets": ["cxc-local-documents", "cxc-local-artifacts"],
        "event_sources": sources,
    }
    text = banner(state)
    assert "cxc-local-documents, cxc-local-artifacts" in text
    streams = "the streams of registrations, outbox, exchanges and payments"
    assert f"{len(sources)} event sources: {streams}; queues " in text
    for source in sources:
        assert source["source"] in text


@pytest.mark.parametrize(
    ("role", "partnership", "problem"),
    [
        ("partnership", "epix", None),
        ("participant", None, None),
        ("partnership", None, "required"),
        ("partnership", "nope", "no partnership 'nope' in the running stack (it has: epix, nordic)"),
        ("finance", "epix", None),  # a partnership's finance officer
        ("finance", "nope", "no partnership 'nope'"),
    ],
)
def test_token_checks_the_partnership_against_the_stacks(
    role: str, partnership: str | None, problem: str | None
):
    found = partnership_problem(role, partnership, ["nordic", "epix"])
    assert found == problem if problem is None else problem in (found or "")


def _make(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_alone_prints_the_targets():
    out = _make()
    for target in ("run", "test", "lock", "package"):
        assert f"make {target} " in out


def test_make_run_takes_ports_and_state_dir_from_the_environment():
    out = _make("-n", "run", env={"AWS_PORT": "5201", "API_PORT": "8201", "STATE_DIR": ".local/env"})
    (command,) = [line for line in out.splitlines() if "infra.local up" in line]
    args = shlex.split(command)
    assert args[args.index("--aws-port") + 1] == "5201"
    assert args[args.index("--api-port") + 1] == "8201"
    assert args[args.index("--state-dir") + 1] == ".local/env"
