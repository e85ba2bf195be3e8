"""Concurrent requests through the real app: the emulator must serialise writes as DynamoDB does, so
that the conditions and versions the store relies on hold under threads as they hold in AWS."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import boto3
import pytest
from chalice.config import Config
from chalice.local import CustomLocalChalice, LocalChalice, LocalGateway, LocalGatewayException

from chalicelib.services import reference as reference_service
from chalicelib.store import registrations as registration_store
from chalicelib.store.audit import entries_for
from chalicelib.store.models import AuditModel, ContactRequestModel, MetaModel
from infra.local import gateway
from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration
from tests.fakes import fake_clock

TODAY = date(2026, 11, 20)
THREADS = 20
SWITCH_INTERVAL = 1e-5  # seconds
DOOR_SECONDS = 2.0
HISTORY = 200  # audit entries already stored
ROUNDS = 3  # of the two concurrent edits

Call = Callable[..., tuple[int, Any]]


@pytest.fixture
def call(client: Any) -> Iterator[Call]:
    """Requests that may run on many threads at once.

    `chalice.test.Client` is not safe from threads: every request swaps the whole `os.environ` for a
    copy and puts it back (overlapping requests leave a stale copy in place), and the app keeps
    `current_request` in one attribute shared by all threads. So these calls go straight to Chalice's
    local gateway (what the test client and `chalice local` both call), with the app's
    `current_request` made per thread exactly as `chalice local` makes it for its threaded server.
    """
    from app import app

    gateway.install()
    original_class = type(app)
    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, original_class)
        app.__class__ = CustomLocalChalice
    local_gateway = LocalGateway(
        app, Config.create(chalice_stage="dev", app_name="clusterxchange", chalice_app=app)
    )

    def request(method: str, path: str, token: str, payload: dict[str, Any] | None = None) -> tuple[int, Any]:
        data = json.dumps(payload).encode() if payload is not None else b""
        try:
            response = local_gateway.handle_request(method=method, path=path, headers=auth(token), body=data)
        except LocalGatewayException as exc:
            return exc.CODE, json.loads(exc.body or b"null")
        return response["statusCode"], json.loads(response["body"] or "null")

    seed_partnerships()
    _earlier_history(HISTORY)
    reference_service.forget_cache()  # the cache outlives a test's emulator
    fake_clock().set_today(TODAY)
    yield request
    reference_service.forget_cache()
    app.__class__ = original_class


def _earlier_history(count: int) -> None:
    # A stack in use is not empty: moto copies every table a transaction names before applying it, so
    # some history makes that copy take as long as it does on a stack that has been used for a while.
    with AuditModel.batch_write() as batch:
        for index in range(count):
            at = f"2026-10-01T09:00:{index % 60:02d}Z"
            batch.save(
                AuditModel(
                    entity=f"registration#reg_earlier{index % 40}",
                    at_key=f"{at}#{index:08x}",
                    at=at,
                    actor="someone-earlier",
                    action="registration.updated",
                    fields=["motivation"],
                )
            )


def race(count: int, attempt: Callable[[int], tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Run `attempt(0..count-1)` on `count` threads, so that their writes really overlap.

    The threads start together (a barrier), and each one's first transaction waits at the emulator's
    door until every thread has one ready (or a short while has passed), so that the transactions
    reach DynamoDB at the same moment rather than as the scheduler happens to spread the requests.
    The interpreter switches threads every few milliseconds by default, so that two calls rarely
    interleave inside the emulator; a short switch interval lets them interleave anywhere, as
    requests on separate machines do.
    """
    from moto.dynamodb.models import DynamoDBBackend

    start, door = threading.Barrier(count), threading.Barrier(count)
    waiting: set[int] = set()
    transact_write_items = DynamoDBBackend.transact_write_items

    def at_the_door(self: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() in waiting:
            waiting.discard(threading.get_ident())
            # A request that failed before writing breaks the barrier: the others go on.
            with contextlib.suppress(threading.BrokenBarrierError):
                door.wait(timeout=DOOR_SECONDS)
        return transact_write_items(self, *args, **kwargs)

    def run(index: int) -> tuple[int, Any]:
        waiting.add(threading.get_ident())
        start.wait(timeout=10)
        return attempt(index)

    interval = sys.getswitchinterval()
    DynamoDBBackend.transact_write_items = at_the_door  # type: ignore[method-assign]
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(run, range(count)))
    finally:
        sys.setswitchinterval(interval)
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def statuses(results: list[tuple[int, Any]]) -> list[int]:
    return sorted(status for status, _ in results)


def tally(results: list[tuple[int, Any]]) -> str:
    """The statuses counted, then every answer: what a failed assertion shows."""
    return f"{dict(Counter(status for status, _ in results))}: {results}"


def test_concurrent_decisions_on_one_registration_let_exactly_one_win(client, token, aws, call):
    # Given a pending registration and its partnership's officer
    created = body(register(client, token("ada@acme.example")))
    officer = token("exchanges@epix.example", "partnership", "epix")
    path = f"/v1/registrations/{created['id']}/decision"
    # The store's first calls create its clients: done here, so that the threads race on writes only.
    assert call("GET", f"/v1/registrations/{created['id']}", officer)[0] == 200

    def attempt(index: int) -> tuple[int, Any]:
        if index % 2:
            return call("POST", path, officer, {"decision": "reject", "reason": "Outside the programme."})
        return call("POST", path, officer, {"decision": "accept", "reason": None})

    # When the officer's decisions arrive all at once
    results = race(THREADS, attempt)

    # Then one decision is taken, once, and the others are refused
    assert statuses(results) == [200] + [409] * (THREADS - 1), tally(results)
    (winner,) = [answer for status, answer in results if status == 200]
    stored = registration_store.get(created["id"])
    assert stored is not None
    assert stored["status"] == winner["status"] and stored["version"] == 2
    trail = entries_for(registration_store.audit_entity(created["id"]))
    assert [e["to_status"] for e in trail if e["from_status"] == "pending"] == [winner["status"]]


def _host_in_germany() -> dict[str, Any]:
    data = registration(roles=["host"])
    data["organisation"].update(
        {"name": "Berlin Digital Cluster", "type": "cluster_organisation", "country": "DE", "city": "Berlin"}
    )
    data["organisation"]["location"] = {"lat": 52.52, "lon": 13.40}
    data["representative"].update(
        {"email": "hans@bdc.example", "nationality": "DE", "residence_country": "DE", "languages": ["de"]}
    )
    return data


def test_concurrent_identical_contact_requests_store_one(client, token, aws, call):
    # Given two accepted participants who may write to each other
    officer = token("exchanges@epix.example", "partnership", "epix")
    visitor = token("ada@acme.example")
    sender = body(register(client, visitor))
    host = register(client, token("hans@bdc.example"), _host_in_germany())
    assert host.status_code == 201, host.body
    recipient = body(host)
    for registration_id in (sender["id"], recipient["id"]):
        assert decide(client, officer, registration_id, "accept").status_code == 200

    assert call("GET", "/v1/contact-requests?box=outgoing", visitor)[0] == 200  # clients created

    # When the same request is sent many times at once
    results = race(
        THREADS,
        lambda _: call("POST", "/v1/contact-requests", visitor, {"to": recipient["id"], "message": "Hello"}),
    )

    # Then one is created, the others are duplicates, and the store holds one request counted once
    assert statuses(results) == [201] + [409] * (THREADS - 1), tally(results)
    stored = [r for r in ContactRequestModel.scan() if r.from_registration == sender["id"]]
    assert [r.status for r in stored] == ["pending"]
    assert MetaModel.get(f"contact-open-count#{sender['id']}", consistent_read=True).tally == 1


def test_concurrent_edits_at_one_version_keep_the_winner_and_refuse_the_other(client, token, aws, call):
    # Given a registration; each round two edits are sent at once, both at the version just read
    ada = token("ada@acme.example")
    created = body(register(client, ada))
    version = created["version"]
    assert call("GET", "/v1/registrations/me", ada)[0] == 200  # clients created
    for round_ in range(ROUNDS):
        edits = [
            {"motivation": f"Round {round_}: {which} thoughts.", "version": version}
            for which in ("first", "second")
        ]

        # When
        results = race(2, lambda index, edits=edits: call("PATCH", "/v1/registrations/me", ada, edits[index]))

        # Then one is saved, the other is told of the conflict, and the stored one is the winner's
        assert statuses(results) == [200, 409], tally(results)
        (winner,) = [answer for status, answer in results if status == 200]
        stored = registration_store.get(created["id"])
        assert stored is not None
        assert (stored["motivation"], stored["version"]) == (winner["motivation"], version + 1), round_
        version = stored["version"]


def test_a_cancelled_transaction_never_undoes_a_write_committed_meanwhile(aws, monkeypatch):
    """The cause of the lost writes, without scheduling luck: a transaction whose condition fails puts
    back the tables as they were when it started, so another write must not land in between."""
    from moto.dynamodb.models import DynamoDBBackend

    ddb = boto3.client("dynamodb", region_name=os.environ["AWS_REGION"])
    table = MetaModel.Meta.table_name
    started, written = threading.Event(), threading.Event()
    get_item = DynamoDBBackend.get_item

    def get_item_pausing_the_transaction(self, *args, **kwargs):
        # A transaction reads each item's current state after its snapshot of the tables.
        if threading.current_thread().name == "transaction":
            started.set()
            written.wait(timeout=0.5)  # serialised, the other write waits for the transaction instead
        return get_item(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "get_item", get_item_pausing_the_transaction)
    outcome: list[str] = []

    def cancelled_transaction() -> None:
        try:
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {"pk": {"S": "absent"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    }
                ]
            )
        except ddb.exceptions.TransactionCanceledException:
            outcome.append("cancelled")

    # Given a transaction that will be cancelled, started and paused
    thread = threading.Thread(target=cancelled_transaction, name="transaction")
    thread.start()
    assert started.wait(timeout=5)
    # When another write commits meanwhile
    ddb.put_item(TableName=table, Item={"pk": {"S": "committed"}})
    written.set()
    thread.join(timeout=5)
    # Then the cancelled transaction did not take it back
    assert outcome == ["cancelled"]
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "committed"}}, ConsistentRead=True)
