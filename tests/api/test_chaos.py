"""A chaos run: one whole exchange life, registration to paid, with the app's AWS calls failing at random
(a fixed seed, 10 %: half before taking effect, half after with the answer lost), retried as its callers
retry: a person repeats a request that failed, Lambda hands a failed record or message on again, the
schedule runs again. It must end in exactly the state of the same life without faults: one payment, one
ledger entry, one transfer file, every mail once.

SES is the one call that fails only before taking effect here: it takes no idempotency key, so a mail
whose answer was lost cannot be told from one never sent, and is sent again (at least once, never lost).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta
from typing import Any

import boto3
import pytest

import app as app_module
from chalicelib import clock
from chalicelib.services import effects
from chalicelib.services import reference as reference_service
from chalicelib.store.models import LedgerModel, OutboxModel, PaymentModel
from infra.local.event_shapes import scheduled_event
from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, host_registration, registration
from tests.api.test_exchanges import BIC, IBAN, draft
from tests.api.test_finalisation import ARTIFACTS, REPORT
from tests.events.helpers import queue_event, sent_emails, stream_event
from tests.events.test_cv_check import PDF
from tests.fakes import fake_clock

SQS = boto3.client("sqs", region_name="eu-west-1")
ATTEMPTS = 40
# A transfer's reference comes from ids each emulator makes anew: the same mail in both runs otherwise.
# The objects' ids are random in each life, and every mail links to its object by id.
_ID = re.compile(r"\b([a-z]+)_[0-9a-f]{32}\b")
_TRANSFER = re.compile(
    r"CXC-[0-9a-f]{24}"
)  # how often a person, Lambda or the schedule tries one thing before the run is a failure


class Person:
    """A client that repeats a request the service failed (5xx), as a person or an app would."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def call(self, method: str, path: str, payload: Any = None, key: str | None = None) -> Any:
        headers = auth(self.token) | ({"Idempotency-Key": key} if key else {})
        for _ in range(ATTEMPTS):
            send = getattr(self.client.http, method)
            response = (
                send(path, headers=headers)
                if method == "get"
                else send(path, headers=headers, body=json.dumps(payload or {}))
            )
            if response.status_code < 500:
                return response
        raise AssertionError(f"{method} {path} kept failing")


def _until(what: str, step: Any) -> Any:
    for _ in range(ATTEMPTS):
        try:
            return step()
        except Exception:  # an invocation that failed: run again, as the event source would
            continue
    raise AssertionError(f"{what} kept failing")


def _stream(aws: Any, table: str, function: Any) -> None:
    # The whole stream each time: a record whose processing failed is handed on again (and the others
    # too, which a consumer must take calmly).
    event = stream_event(aws.stream_arns[table])
    if event["Records"]:
        _until(f"{table} stream", lambda: function(event, None))


def _queue(aws: Any, queue: str, function: Any) -> int:
    event = queue_event(aws.queue_urls[queue], aws.queue_arns[queue])
    if not event["Records"]:
        return 0
    try:
        outcome = function(event, None)
        failed = {f["itemIdentifier"] for f in outcome["batchItemFailures"]}
    except Exception:
        failed = {r["messageId"] for r in event["Records"]}
    for record in event["Records"]:
        if record["messageId"] in failed:
            SQS.change_message_visibility(
                QueueUrl=aws.queue_urls[queue], ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
        else:
            SQS.delete_message(QueueUrl=aws.queue_urls[queue], ReceiptHandle=record["receiptHandle"])
    return len(event["Records"])


def _tick() -> None:
    event = scheduled_event("eu-west-1", "arn:aws:events:eu-west-1:123456789012:rule/tick", clock.now())
    _until("the schedule", lambda: app_module.tick(event, None))


def settle(aws: Any) -> None:
    """Every event source hands on what it holds until nothing is left to do. An effect whose delivery
    died holding its lease waits for the lease to run out: time moves on and the schedule re-drives it."""
    for _ in range(ATTEMPTS):
        _stream(aws, "registrations", app_module.on_registration_change)
        _stream(aws, "outbox", app_module.deliver_effects)
        moved = _queue(aws, "documents", app_module.on_document_uploaded)
        moved += _queue(aws, "payments", app_module.on_payment_instruction)
        moved += _queue(aws, "payments-dlq", app_module.on_payment_dead_letter)
        pending = list(OutboxModel.by_queue.query("pending"))
        if not moved and not pending:
            return
        if any(m.lease for m in pending):
            fake_clock().run_ahead(effects.LEASE + timedelta(minutes=1))
            _tick()
    pending = [(m.id, m.attempts, m.last_error) for m in OutboxModel.by_queue.query("pending")]
    raise AssertionError(f"the event sources never settled: {pending}")


def one_life(client: Any, token: Any, aws: Any) -> dict[str, Any]:
    """Registration to paid, as the people involved do it; what it leaves behind."""
    seed_partnerships()
    reference_service.forget_cache()
    fake_clock().set_today(date(2026, 11, 20))
    visitor, host = Person(client, token("ada@acme.example")), Person(client, token("hans@bdc.example"))
    vop = Person(client, token("officer@epix.example", "partnership", "epix"))
    hop = Person(client, token("officer@ce4big.example", "partnership", "ce4big"))
    finance = Person(client, token("clerk@epix.example", "finance", "epix"))

    # Registration: a retry after a lost answer is told it is registered already; the registration is read
    visitor.call("post", "/v1/registrations", registration())
    host_data = host_registration()
    host.call("post", "/v1/registrations", host_data)
    visitor_id = body(visitor.call("get", "/v1/registrations/me"))["id"]
    host_id = body(host.call("get", "/v1/registrations/me"))["id"]
    vop.call("post", f"/v1/registrations/{visitor_id}/decision", {"decision": "accept"})
    hop.call("post", f"/v1/registrations/{host_id}/decision", {"decision": "accept"})
    settle(aws)

    visitor.call("post", "/v1/contact-requests", {"to": host_id, "message": "Hi"})
    [request] = body(visitor.call("get", "/v1/contact-requests?box=outgoing"))["items"]
    host.call("post", f"/v1/contact-requests/{request['id']}/accept")
    settle(aws)

    made = visitor.call("post", "/v1/exchanges", draft(request["id"]), key="draft-ada-hans-0001")
    path = f"/v1/exchanges/{body(made)['id']}"
    account = {"bank_account": {"holder": "Acme IoT Srl", "iban": IBAN, "bic": BIC}}
    visitor.call("patch", path, account)
    visitor.call("post", f"{path}/submit")
    host.call("post", f"{path}/submit")
    vop.call("post", f"{path}/review", {"decision": "approve"})
    hop.call("post", f"{path}/review", {"decision": "approve"})
    settle(aws)
    for kind, signers in (
        ("commitment_to_quality", (visitor, host, vop, hop)),
        ("financial_agreement", (visitor, vop)),
    ):
        documents = body(visitor.call("get", f"{path}/documents"))["items"]
        sha = next(d["sha256"] for d in documents if d["kind"] == kind and d["current"])
        for signer in signers:
            signer.call("post", f"{path}/signatures", {"document": kind, "sha256": sha})
        settle(aws)

    for day in ("2027-04-12", "2027-04-17"):
        fake_clock().set_today(date.fromisoformat(day))
        _tick()
        settle(aws)
    form = {"kind": "evidence", "filename": "photos.pdf", "content_type": "application/pdf", "size": 2000}
    granted = body(visitor.call("post", f"{path}/uploads", form))
    boto3.client("s3", region_name="eu-west-1").put_object(
        Bucket="cxc-test-documents", Key=granted["upload"]["fields"]["key"], Body=PDF
    )
    settle(aws)
    visitor.call("post", f"{path}/closing-report", REPORT)
    vop.call("post", f"{path}/closing-report/decision", {"decision": "approve"})
    settle(aws)
    payment = body(visitor.call("get", f"{path}/payment"))
    for _ in range(ATTEMPTS):  # the instruction may have failed every attempt: finance puts it back
        if payment["status"] != "failed":
            break
        finance.call("post", f"/v1/payments/{payment['id']}/retry")
        settle(aws)
        payment = body(visitor.call("get", f"{path}/payment"))
    fake_clock().set_today(date(2027, 4, 21))
    finance.call(
        "post", f"/v1/payments/{payment['id']}/confirm", {"bank_reference": "BANK-1", "paid_at": "2027-04-20"}
    )
    settle(aws)

    exchange = body(visitor.call("get", path))
    transfers = boto3.client("s3", region_name="eu-west-1").list_objects_v2(
        Bucket=ARTIFACTS, Prefix="transfers/"
    )
    return {
        "status": exchange["status"],
        "reference": exchange["reference"],
        "payments": [(p.status, int(p.amount_eur)) for p in PaymentModel.scan()],
        "ledger": [(e.amount_eur, e.creditor_iban) for e in LedgerModel.scan()],
        "transfer_files": len(transfers.get("Contents", [])),
        "mails": Counter(
            (
                m.destinations["ToAddresses"][0],
                m.subject,
                _ID.sub(r"\1_<id>", _TRANSFER.sub("CXC-<transfer>", m.body)),
            )
            for m in sent_emails()
        ),
        "stuck": list(OutboxModel.by_queue.query("stuck")),
    }


@pytest.fixture
def fault_free(jwks_base_url, monkeypatch, tmp_path):
    """The same life on its own emulator, without faults: what the chaos run must end in."""
    from chalice.test import Client

    from infra.local import gateway
    from infra.local.tokens import issue_token
    from tests.api.conftest import emulated_aws

    with emulated_aws(jwks_base_url, monkeypatch) as booted:
        gateway.install()
        idp = boto3.client("cognito-idp", region_name="eu-west-1")

        def token(email: str, role: str = "participant", partnership: str | None = None) -> str:
            return issue_token(idp, booted.user_pool_id, booted.app_client_id, email, role, partnership)

        with Client(app_module.app, project_dir=str(tmp_path)) as client:
            return one_life(client, token, booted)


def test_a_whole_life_under_random_faults_ends_as_it_does_without_them(
    fault_free, client, token, aws, faults
):
    # Given the app's AWS calls failing at random (SES only before it takes effect)
    faults.chaos(rate=0.10, seed=20261203, after_exempt=frozenset({("ses", "SendEmail")}))
    # When the whole life is lived, every failure retried by whoever made the call
    chaotic = one_life(client, token, aws)
    # Then faults did happen, of both kinds, across functions
    whens = Counter(when for when, *_ in faults.injected)
    functions = {function for _, function, *_ in faults.injected}
    assert whens["before"] > 10 and whens["after"] > 10, whens
    assert {"api_handler", "deliver_effects"} <= functions, functions
    # And it ends exactly as the fault-free life: paid once, one ledger entry, one file, each mail once
    assert chaotic["status"] == fault_free["status"] == "paid"
    assert chaotic["payments"] == fault_free["payments"] == [("paid", 830)]
    assert chaotic["ledger"] == fault_free["ledger"] and len(chaotic["ledger"]) == 1
    assert chaotic["transfer_files"] == fault_free["transfer_files"] == 1
    assert chaotic["reference"] == fault_free["reference"]
    assert chaotic["stuck"] == fault_free["stuck"] == []
    assert chaotic["mails"] - fault_free["mails"] == Counter(), "mails sent more often than without faults"
    assert fault_free["mails"] - chaotic["mails"] == Counter(), "mails never sent"
    assert all(count == 1 for count in chaotic["mails"].values()), chaotic["mails"]
