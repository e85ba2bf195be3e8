"""End to end: the local stack in a subprocess on free ports, called over real HTTP."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from tests import sample_files
from tests.api.conftest import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TAKEN_PORT_SECONDS = 15  # "at once": the check comes before anything slow


class Stack:
    def __init__(self, state_dir: Path, api: str, process: subprocess.Popen[bytes]) -> None:
        self.state_dir = state_dir
        self.api = api
        self.process = process

    def cli(self, *args: str) -> str:
        command, *rest = args
        result = subprocess.run(
            [sys.executable, "-m", "infra.local", command, "--state-dir", str(self.state_dir), *rest],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip()

    def token(self, email: str, role: str = "participant", partnership: str | None = None) -> str:
        extra = ["--partnership", partnership] if partnership else []
        return self.cli("token", email, "--role", role, *extra)


def _clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("CXC_", "AWS_"))}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state_dir = tmp_path_factory.mktemp("stack")
    aws_port, api_port = free_port(), free_port()
    log = (state_dir / "stack.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            "up",
            "--state-dir",
            str(state_dir),
            "--aws-port",
            str(aws_port),
            "--api-port",
            str(api_port),
            "--demo-size",
            "40",
            "--tick-seconds",
            "1",
        ],
        cwd=ROOT,
        env=_clean_environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    api = f"http://127.0.0.1:{api_port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the stack exited: {(state_dir / 'stack.log').read_text()[-3000:]}")
        try:
            if requests.get(f"{api}/v1/health", timeout=1).status_code == 200:
                break
        except requests.ConnectionError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail(f"no health within 120 s: {(state_dir / 'stack.log').read_text()[-3000:]}")
    yield Stack(state_dir, api, process)
    # Ctrl-C: the stack stops by itself, cleanly, within the timeout.
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=30) == 0
        assert "Stopping the local stack" in (state_dir / "stack.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()


def test_health_and_reference_over_http(stack: Stack):
    assert requests.get(f"{stack.api}/v1/health", timeout=5).json()["status"] == "ok"
    partnerships = requests.get(f"{stack.api}/v1/partnerships", timeout=5).json()["items"]
    assert {p["id"] for p in partnerships} >= {"epix", "medic-nest"}


def test_authenticated_route_with_a_real_token(stack: Stack):
    # Given a token from the stack's own token command
    token = stack.token("officer@epix.example", "partnership", "epix")
    # When / Then
    response = requests.get(f"{stack.api}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert response.status_code == 200
    assert response.json()["partnership_id"] == "epix"
    assert requests.get(f"{stack.api}/v1/me", timeout=5).status_code == 401
    claims = jwt.decode(token, options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "dummy"})
    response = requests.get(f"{stack.api}/v1/me", headers={"Authorization": f"Bearer {forged}"}, timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_token_carries_only_the_role_and_partnership_asked_for(stack: Stack):
    # Given a user who was a partnership officer
    stack.token("switch@example.org", "partnership", "epix")
    # When a token with another role is asked for the same user
    token = stack.token("switch@example.org", "admin")
    # Then it has that role alone, and no partnership
    me = requests.get(f"{stack.api}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    assert (me["roles"], me["partnership_id"]) == (["admin"], None)


def test_token_refuses_a_partnership_the_stack_does_not_have(stack: Stack):
    command = [sys.executable, "-m", "infra.local", "token", "x@example.org", "--role", "partnership"]
    result = subprocess.run(
        [*command, "--partnership", "atlantis", "--state-dir", str(stack.state_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert "atlantis" in result.stderr and "epix" in result.stderr


def _wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


def test_register_accept_find_in_catalogue_and_upload_a_cv(stack: Stack):
    # Given a participant who registers and the partnership's officer who accepts
    from tests.api.helpers import registration

    me = {"Authorization": f"Bearer {stack.token('e2e@acme.example')}"}
    officer = {"Authorization": f"Bearer {stack.token('officer@epix.example', 'partnership', 'epix')}"}
    created = requests.post(f"{stack.api}/v1/registrations", json=registration(), headers=me, timeout=10)
    assert created.status_code == 201, created.text
    registration_id = created.json()["id"]
    queue = requests.get(
        f"{stack.api}/v1/partnerships/epix/registrations?status=pending", headers=officer, timeout=10
    )
    assert registration_id in [r["id"] for r in queue.json()["items"]]
    decided = requests.post(
        f"{stack.api}/v1/registrations/{registration_id}/decision",
        json={"decision": "accept", "reason": None},
        headers=officer,
        timeout=10,
    )
    assert decided.status_code == 200, decided.text

    # Then the stream, the event pump and the scheduled rebuild put it in the catalogue
    def in_catalogue():
        page = requests.get(f"{stack.api}/v1/catalogue?q=acme%20iot&limit=100", headers=me, timeout=10).json()
        return registration_id in [c["id"] for c in page.get("items", [])]

    assert _wait_for(in_catalogue)
    matches = requests.get(f"{stack.api}/v1/matches?limit=5", headers=me, timeout=10).json()["items"]
    assert matches and all(m["registration"]["organisation"]["country"] != "IT" for m in matches)

    # When a CV is uploaded with the presigned POST, straight to the emulated S3
    pdf = sample_files.pdf()
    form = requests.post(
        f"{stack.api}/v1/registrations/me/cv",
        json={"filename": "cv.pdf", "content_type": "application/pdf", "size": len(pdf)},
        headers=me,
        timeout=10,
    ).json()
    upload = requests.post(
        form["upload"]["url"], data=form["upload"]["fields"], files={"file": ("cv.pdf", pdf)}, timeout=10
    )
    assert upload.status_code in (200, 204), upload.text

    # Then S3's notification reaches the check through SQS and the pump
    def cv_status():
        return (
            requests.get(f"{stack.api}/v1/registrations/me", headers=me, timeout=10).json().get("cv") or {}
        ).get("status") == "accepted"

    assert _wait_for(cv_status)


def test_clock_command_sets_and_resets_the_business_date(stack: Stack):
    # When the date is moved, the running API's "today" follows; after a reset it is the real date
    assert stack.cli("clock", "2027-04-12") == "business date: 2027-04-12"
    assert requests.get(f"{stack.api}/v1/health", timeout=5).json()["business_date"] == "2027-04-12"
    # (--state-dir is taken before the command too)
    reset = subprocess.run(
        [sys.executable, "-m", "infra.local", "--state-dir", str(stack.state_dir), "clock", "--reset"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert (reset.stdout.strip(), reset.stderr) == ("business date: the real date", "")
    today = requests.get(f"{stack.api}/v1/health", timeout=5).json()["business_date"]
    assert today == time.strftime("%Y-%m-%d", time.gmtime())


def test_start_up_reports_each_step_with_its_counts(stack: Stack):
    # The stack was started with --demo-size 40: a newcomer sees what it is doing, step by step
    log = (stack.state_dir / "stack.log").read_text()
    before_banner = log[: log.index("ClusterXchange local stack is up")]
    steps = ("ports", "AWS emulator", "resources", "partnerships", "demo population", "event pump", "API")
    for step in steps:
        assert re.search(rf"^  {step} ", before_banner, re.MULTILINE), (step, before_banner[-2000:])
    assert re.search(r"^  demo population .*\b40\b", before_banner, re.MULTILINE)
    assert re.search(r"^  resources .*\d+ tables.* 2 buckets", before_banner, re.MULTILINE)
    # The banner names what the stack has, from its own lists
    assert re.search(r"^  Event pump +\d+ event sources: the stream", log, re.MULTILINE), log[-3000:]


def _banner_command(log: str, pattern: str) -> list[str]:
    match = re.search(pattern, log)
    assert match, log[-3000:]
    args = shlex.split(match.group(1).replace("\\\n", " "))
    assert args[:3] == [".venv/bin/python", "-m", "infra.local"]
    return [sys.executable, *args[1:]]


def test_the_banners_token_and_clock_commands_name_a_non_default_state_dir(stack: Stack, tmp_path: Path):
    # Given a stack started with --state-dir elsewhere than .local: the banner's commands work as printed
    log = (stack.state_dir / "stack.log").read_text()
    token_command = _banner_command(log, r"TOKEN=\$\((\S+ -m infra\.local token you@example\.org[^)]*)\)")
    assert "--state-dir" in token_command
    token = subprocess.run(
        token_command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()
    me = requests.get(f"{stack.api}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert me.status_code == 200 and me.json()["email"] == "you@example.org"
    clock_command = _banner_command(log, r"Business date +(\S+ -m infra\.local clock .*?) +\(or --reset\)")
    assert "--state-dir" in clock_command
    # Without it (from a folder with no .local), token says where it looked and what to give instead
    result = subprocess.run(
        [sys.executable, "-m", "infra.local", "token", "you@example.org", "--role", "participant"],
        cwd=tmp_path,
        env={**_clean_environment(), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--state-dir" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["up", "token", "clock"])
def test_every_command_takes_and_shows_state_dir(command: str):
    result = subprocess.run(
        [sys.executable, "-m", "infra.local", command, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--state-dir" in result.stdout


@pytest.mark.parametrize(("which", "variable"), [("aws", "AWS_PORT"), ("api", "API_PORT")])
def test_a_taken_port_fails_at_once_naming_the_port_and_how_to_choose_another(
    tmp_path: Path, which: str, variable: str
):
    # Given a port something else listens on
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        ports = {"aws": free_port(), "api": free_port(), which: port}
        # When the stack is started on it (with the default seed: nothing should run before the check)
        started = time.monotonic()
        try:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "infra.local",
                    "up",
                    "--state-dir",
                    str(tmp_path),
                    "--aws-port",
                    str(ports["aws"]),
                    "--api-port",
                    str(ports["api"]),
                ],
                cwd=ROOT,
                env=_clean_environment(),
                capture_output=True,
                text=True,
                timeout=TAKEN_PORT_SECONDS,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"still running after {TAKEN_PORT_SECONDS} s: {exc.stdout!r} {exc.stderr!r}")
        elapsed = time.monotonic() - started
    # Then it stops at once, in one line that names the port and how to choose another
    assert result.returncode != 0
    assert elapsed < TAKEN_PORT_SECONDS
    assert "Traceback" not in result.stderr, result.stderr
    (message,) = result.stderr.strip().splitlines()
    assert str(port) in message
    assert re.search(rf"make run {variable}=\d+", message), message
    assert not (tmp_path / "stack.json").exists()


def test_make_run_passes_ports_and_state_dir_on():
    result = subprocess.run(
        ["make", "-n", "run", "AWS_PORT=5101", "API_PORT=8101", "STATE_DIR=.local-other"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (command,) = [line for line in result.stdout.splitlines() if "infra.local up" in line]
    args = shlex.split(command)
    assert args[args.index("--aws-port") + 1] == "5101"
    assert args[args.index("--api-port") + 1] == "8101"
    assert args[args.index("--state-dir") + 1] == ".local-other"
    default = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "--aws-port 5000 --api-port 8000 --state-dir .local" in default.stdout


def test_ctrl_c_stops_the_stack_cleanly(stack: Stack):
    # Checked last in this module: the fixture's teardown sends SIGINT; here, that the process
    # has no children that would outlive it (everything runs as threads of one process).
    children = Path(f"/proc/{stack.process.pid}/task")
    assert children.exists()
    result = subprocess.run(
        ["ps", "--ppid", str(stack.process.pid), "-o", "pid="], capture_output=True, text=True
    )
    assert result.stdout.strip() == ""


def test_an_exchange_from_draft_to_paid_with_the_clock_moved(stack: Stack):
    # Given an accepted visitor (IT, epix) and host (DE, ce4big) who agreed through a contact request
    from tests.api.helpers import registration

    def headers(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    api = stack.api
    visitor = headers(stack.token("e2e-visitor@acme.example"))
    host = headers(stack.token("e2e-host@bdc.example"))
    vop = headers(stack.token("officer@epix.example", "partnership", "epix"))
    hop = headers(stack.token("officer@ce4big.example", "partnership", "ce4big"))
    visitor_data = registration()
    visitor_data["representative"]["email"] = "e2e-visitor@acme.example"
    host_data = registration(roles=["host"], partnership_id="ce4big")
    host_data["organisation"].update(
        {
            "name": "Berlin E2E Cluster",
            "country": "DE",
            "city": "Berlin",
            "location": {"lat": 52.5, "lon": 13.4},
            "type": "cluster_organisation",
        }
    )
    host_data["representative"].update({"email": "e2e-host@bdc.example", "nationality": "DE"})
    ids = {}
    for name, data, who, officer in (("visitor", visitor_data, visitor, vop), ("host", host_data, host, hop)):
        created = requests.post(f"{api}/v1/registrations", json=data, headers=who, timeout=10)
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
        decided = requests.post(
            f"{api}/v1/registrations/{ids[name]}/decision",
            json={"decision": "accept"},
            headers=officer,
            timeout=10,
        )
        assert decided.status_code == 200, decided.text
    asked = requests.post(
        f"{api}/v1/contact-requests", json={"to": ids["host"], "message": "Hi"}, headers=visitor, timeout=10
    )
    request_id = asked.json()["id"]
    assert (
        requests.post(f"{api}/v1/contact-requests/{request_id}/accept", headers=host, timeout=10).status_code
        == 200
    )

    # When they build the exchange, their partnerships validate it and all sign
    draft = {
        "contact_request_id": request_id, "start_date": "2027-04-12", "end_date": "2027-04-16",
        "objectives": ["technology_uptake"], "activities": ["study_visit"],
        "expected_outcomes": "A pilot.", "responsibilities": {"visitor": "Travel", "host": "A mentor"},
    }  # fmt: skip
    created = requests.post(f"{api}/v1/exchanges", json=draft, headers=visitor, timeout=10)
    assert created.status_code == 201, created.text
    path = f"{api}/v1/exchanges/{created.json()['id']}"
    account = {
        "bank_account": {"holder": "Acme IoT Srl", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}
    }
    assert requests.patch(path, json=account, headers=visitor, timeout=10).status_code == 200
    for who in (visitor, host):
        assert requests.post(f"{path}/submit", json={}, headers=who, timeout=10).status_code == 200
    for who in (vop, hop):
        assert (
            requests.post(f"{path}/review", json={"decision": "approve"}, headers=who, timeout=10).status_code
            == 200
        )

    def documents():
        items = requests.get(f"{path}/documents", headers=visitor, timeout=10).json()["items"]
        return items if len(items) == 2 else None

    generated = _wait_for(documents)  # the exchanges stream -> the event pump -> the agreements
    assert generated, "no agreements were generated"
    hashes = {d["kind"]: d["sha256"] for d in generated}
    for kind, signers in (
        ("commitment_to_quality", (visitor, host, vop, hop)),
        ("financial_agreement", (visitor, vop)),
    ):
        for who in signers:
            signed = requests.post(
                f"{path}/signatures", json={"document": kind, "sha256": hashes[kind]}, headers=who, timeout=10
            )
            assert signed.status_code == 200, signed.text
    assert requests.get(path, headers=vop, timeout=10).json()["status"] == "ready"

    # Then the scheduled function moves it by the stack's business date
    def status_becomes(expected: str):
        return lambda: requests.get(path, headers=vop, timeout=10).json()["status"] == expected

    try:
        stack.cli("clock", "2027-04-12")
        assert _wait_for(status_becomes("in_progress"))
        stack.cli("clock", "2027-04-17")
        assert _wait_for(status_becomes("completed"))

        # And after the stay: evidence straight to the emulated S3, the closing report, the VOP's approval
        pdf = sample_files.pdf("Boarding pass")
        asked_for = {"kind": "evidence", "filename": "photos.pdf", "content_type": "application/pdf"}
        form = requests.post(
            f"{path}/uploads", json={**asked_for, "size": len(pdf)}, headers=visitor, timeout=10
        ).json()
        sent = requests.post(
            form["upload"]["url"], data=form["upload"]["fields"], files={"file": ("e.pdf", pdf)}, timeout=10
        )
        assert sent.status_code in (200, 204), sent.text

        def evidence_accepted():
            items = requests.get(f"{path}/documents", headers=visitor, timeout=10).json()["items"]
            return any(d["kind"] == "evidence" and d["status"] == "accepted" for d in items)

        assert _wait_for(evidence_accepted)
        report = {"activities_done": "Lab visits", "outcomes": "A pilot", "follow_up": "May", "rating": 5}
        assert requests.post(f"{path}/closing-report", json=report, headers=visitor, timeout=10).ok
        approved = requests.post(
            f"{path}/closing-report/decision", json={"decision": "approve"}, headers=vop, timeout=10
        )
        assert approved.status_code == 200, approved.text

        # Then the lump sum is computed (the stream) and instructed (the payments queue, the finance
        # function), and finance records the bank's execution
        def payment_instructed():
            found = requests.get(f"{path}/payment", headers=visitor, timeout=10)
            return found.json() if found.ok and found.json()["status"] == "instructed" else None

        payment = _wait_for(payment_instructed)
        assert payment and payment["amount_eur"] == 830, payment
        finance = headers(stack.token("clerk@epix.example", "finance", "epix"))
        transfer = requests.get(
            f"{api}/v1/payments/{payment['id']}/transfer-file", headers=finance, timeout=10
        )
        assert b"pain.001.001.03" in requests.get(transfer.json()["url"], timeout=10).content
        stack.cli("clock", "2027-04-21")  # the bank executed it on the 20th
        paid = requests.post(
            f"{api}/v1/payments/{payment['id']}/confirm",
            json={"bank_reference": "BANK-E2E-1", "paid_at": "2027-04-20"},
            headers=finance,
            timeout=10,
        )
        assert paid.status_code == 200, paid.text
        assert requests.get(path, headers=visitor, timeout=10).json()["status"] == "paid"
    finally:
        stack.cli("clock", "--reset")
