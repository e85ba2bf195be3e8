"""End to end, under load: the four parties sign the Commitment to Quality at the same moment over real
HTTP to the local stack while other requests keep it busy; every signature counts, every time."""

from __future__ import annotations

import functools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.api.helpers import registration
from tests.e2e.test_local_stack import Stack, _wait_for, stack  # noqa: F401 (this module's own stack)

pytestmark = pytest.mark.e2e
ROUNDS = 3
LOAD_THREADS = 3
TIMEOUT = 15  # seconds, per request
BANK_ACCOUNT = {"holder": "Acme IoT Srl", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}
DRAFT = {
    "start_date": "2027-04-12", "end_date": "2027-04-16", "objectives": ["technology_uptake"],
    "activities": ["study_visit"], "expected_outcomes": "A pilot.",
    "responsibilities": {"visitor": "Travel", "host": "A mentor"},
}  # fmt: skip
Who = dict[str, str]  # a caller's headers


def _headers(token: str) -> Who:
    return {"Authorization": f"Bearer {token}"}


def _ok(method: str, url: str, who: Who, payload: Any = None, status: int = 200) -> Any:
    response = requests.request(method, url, json=payload, headers=who, timeout=TIMEOUT)
    assert response.status_code == status, (method, url, response.text)
    return response.json()


def _registered(api: str, who: Who, officer: Who, data: dict[str, Any]) -> str:
    created = _ok("POST", f"{api}/v1/registrations", who, data, status=201)
    _ok("POST", f"{api}/v1/registrations/{created['id']}/decision", officer, {"decision": "accept"})
    return str(created["id"])


def _commitment(path: str, who: Who) -> dict[str, Any] | None:
    items = requests.get(f"{path}/documents", headers=who, timeout=TIMEOUT).json().get("items", [])
    return next((d for d in items if d["kind"] == "commitment_to_quality" and d.get("current")), None)


def _validated_exchange(api: str, visitor: Who, host: Who, host_id: str, vop: Who, hop: Who) -> str:
    """An exchange both partnerships validated, with its agreements rendered (the stream, the pump)."""
    asked = _ok("POST", f"{api}/v1/contact-requests", visitor, {"to": host_id, "message": "Hi"}, status=201)
    _ok("POST", f"{api}/v1/contact-requests/{asked['id']}/accept", host)
    draft = {**DRAFT, "contact_request_id": asked["id"]}
    path = f"{api}/v1/exchanges/{_ok('POST', f'{api}/v1/exchanges', visitor, draft, status=201)['id']}"
    _ok("PATCH", path, visitor, {"bank_account": BANK_ACCOUNT})
    for who in (visitor, host):
        _ok("POST", f"{path}/submit", who, {})
    for who in (vop, hop):
        _ok("POST", f"{path}/review", who, {"decision": "approve"})
    assert _wait_for(lambda: _commitment(path, visitor), timeout=20), "no agreements rendered"
    return path


def _load(api: str, path: str, readers: list[Who], editor: Who, stop: threading.Event) -> list[int]:
    """Other work for the stack while the parties sign: reads of the exchange, lists, the catalogue,
    and edits of another object; the statuses answered."""
    urls = (path, f"{path}/documents", f"{api}/v1/exchanges", f"{api}/v1/catalogue?role=host")
    mine = f"{api}/v1/registrations/me"
    statuses: list[int] = []
    with requests.Session() as session:
        turn = 0
        while not stop.is_set():
            if turn % 5 == 4:
                edit = {"motivation": f"Still keen on living labs ({turn})."}
                answer = session.patch(mine, json=edit, headers=editor, timeout=TIMEOUT)
            else:
                answer = session.get(urls[turn % 5], headers=readers[turn % len(readers)], timeout=TIMEOUT)
            statuses.append(answer.status_code)
            turn += 1
    return statuses


def _sign(path: str, signature: dict[str, str], together: threading.Barrier, who: Who) -> requests.Response:
    together.wait(timeout=TIMEOUT)
    return requests.post(f"{path}/signatures", json=signature, headers=who, timeout=TIMEOUT)


def test_four_signers_at_once_under_load_all_count(stack: Stack):  # noqa: F811
    # Given a host, both partnerships' officers, and each round a new visitor (a visitor visits once)
    api = stack.api
    vop = _headers(stack.token("officer@epix.example", "partnership", "epix"))
    hop = _headers(stack.token("officer@ce4big.example", "partnership", "ce4big"))
    host = _headers(stack.token("race-host@bdc.example"))
    host_data = registration(roles=["host"], partnership_id="ce4big")
    host_data["organisation"].update(
        {"name": "Berlin Race Cluster", "country": "DE", "city": "Berlin",
         "location": {"lat": 52.5, "lon": 13.4}, "type": "cluster_organisation"}
    )  # fmt: skip
    host_data["representative"].update({"email": "race-host@bdc.example", "nationality": "DE"})
    host_id = _registered(api, host, hop, host_data)

    for round_ in range(ROUNDS):
        email = f"race-visitor-{round_}@acme.example"
        visitor = _headers(stack.token(email))
        visitor_data = registration()
        visitor_data["representative"]["email"] = email
        _registered(api, visitor, vop, visitor_data)
        path = _validated_exchange(api, visitor, host, host_id, vop, hop)
        signature = {"document": "commitment_to_quality", "sha256": _commitment(path, visitor)["sha256"]}
        signers = [visitor, host, vop, hop]
        sign = functools.partial(_sign, path, signature, threading.Barrier(len(signers)))

        # When the four sign at the same moment while other requests keep the stack busy
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=LOAD_THREADS + len(signers)) as pool:
            load = [pool.submit(_load, api, path, signers, host, stop) for _ in range(LOAD_THREADS)]
            time.sleep(0.3)  # the load is running before the signatures arrive
            try:
                answers = list(pool.map(sign, signers))
            finally:
                stop.set()
            busy = [status for future in load for status in future.result()]

        # Then every signature counts and the exchange is signed; the other requests were answered
        assert [a.status_code for a in answers] == [200] * 4, (round_, [a.text for a in answers])
        assert _ok("GET", path, vop)["status"] == "signed", round_
        parties = sorted(s["party"] for s in _commitment(path, vop)["signatures"])
        assert parties == ["HO", "HOP", "VO", "VOP"], round_
        assert busy and all(status < 500 for status in busy), (round_, sorted(set(busy)))
