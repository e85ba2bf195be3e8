"""After the stay, over the app and moto's real streams and queues: the closing report, evidence and the
VOP's decision; the lump sum computed by the function the approval triggers; the transfer instructed
exactly once by the finance function (replays, duplicates, failures, the dead-letter queue, retry);
finance's confirmation; overdue payments."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import boto3

import app as app_module
from chalicelib import clock
from chalicelib.services import payments as payment_service
from chalicelib.store.models import LedgerModel, PaymentModel
from infra.local.event_shapes import scheduled_event
from tests.api import test_exchanges
from tests.api.helpers import body
from tests.api.test_exchange_uploads import form, put
from tests.api.test_exchanges import _ready, get, post, run_effects
from tests.events import test_cv_check
from tests.events.helpers import queue_event, sent_emails
from tests.events.test_cv_check import PDF, deliver
from tests.fakes import FlakyGateway, fake_clock

pair = test_exchanges.pair  # an accepted visitor (Padova, epix) and host (Berlin, ce4big)
s3 = test_cv_check.s3

REPORT = {"activities_done": "Lab visits", "outcomes": "A pilot", "follow_up": "Call in May", "rating": 5}
ARTIFACTS = "cxc-test-artifacts"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


def tick_on(day: str) -> None:
    fake_clock().set_today(date.fromisoformat(day))
    event = scheduled_event("eu-west-1", "arn:aws:events:eu-west-1:123456789012:rule/tick", clock.now())
    app_module.tick(event, None)


def _completed(client, pair, aws, **changes):
    path = _ready(client, pair, aws, **changes)
    tick_on("2027-04-12")
    tick_on("2027-04-17")
    assert body(get(client, path, pair.vop))["status"] == "completed"
    return path


def _with_evidence(client, pair, aws, s3, **changes):
    path = _completed(client, pair, aws, **changes)
    put(s3, form(client, path, pair.visitor, kind="evidence", document=None), PDF)
    deliver(aws)
    return path


def _approved(client, pair, aws, s3):
    path = _with_evidence(client, pair, aws, s3)
    assert body(post(client, f"{path}/closing-report", pair.visitor, REPORT))["status"] == "report_submitted"
    approved = body(post(client, f"{path}/closing-report/decision", pair.vop, {"decision": "approve"}))
    assert approved["status"] == "report_approved"
    return path


def deliver_payments(aws, function=None, queue="payments"):
    """Hand every waiting message of a payments queue to its function, as the event source mapping
    does: successes deleted, failures visible again at once (so bounded retries run now) until the
    queue is empty; moto moves a message to the dead-letter queue after its maximum receive count."""
    function = function or (
        app_module.on_payment_instruction if queue == "payments" else app_module.on_payment_dead_letter
    )
    sqs = boto3.client("sqs", region_name="eu-west-1")
    results = []
    for _ in range(20):
        event = queue_event(aws.queue_urls[queue], aws.queue_arns[queue])
        if not event["Records"]:
            break
        outcome = function(event, None)
        failed = {f["itemIdentifier"] for f in outcome["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=aws.queue_urls[queue], ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=aws.queue_urls[queue], ReceiptHandle=record["receiptHandle"])
        results.append(outcome)
    return results


def _artifact_keys(prefix):
    listed = boto3.client("s3", region_name="eu-west-1").list_objects_v2(Bucket=ARTIFACTS, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_the_report_needs_evidence_and_a_reason_to_reject_and_only_the_vo_submits_it(client, pair, aws, s3):
    path = _completed(client, pair, aws)
    assert post(client, f"{path}/closing-report", pair.host, REPORT).status_code == 403
    bad = post(client, f"{path}/closing-report", pair.visitor, {**REPORT, "rating": 6})
    assert bad.status_code == 400
    post(client, f"{path}/closing-report", pair.visitor, REPORT)
    # the host's feedback never holds anything back, and is the host's only
    assert post(client, f"{path}/host-feedback", pair.visitor, {"comment": "Great"}).status_code == 403
    assert (
        body(post(client, f"{path}/host-feedback", pair.host, {"comment": "Great", "rating": 4}))[
            "host_feedback"
        ]["rating"]
        == 4
    )
    no_evidence = post(client, f"{path}/closing-report/decision", pair.vop, {"decision": "approve"})
    assert no_evidence.status_code == 422 and body(no_evidence)["error"]["code"] == "EVIDENCE_REQUIRED"
    bare = post(client, f"{path}/closing-report/decision", pair.vop, {"decision": "reject"})
    assert bare.status_code == 422 and body(bare)["error"]["code"] == "COMMENT_REQUIRED"
    assert (
        post(client, f"{path}/closing-report/decision", pair.hop, {"decision": "approve"}).status_code == 403
    )
    rejected = body(
        post(
            client, f"{path}/closing-report/decision", pair.vop, {"decision": "reject", "comment": "Photos?"}
        )
    )
    assert rejected["status"] == "report_rejected" and rejected["report"]["comment"] == "Photos?"
    # The VO adds evidence and submits again; the VOP approves
    put(s3, form(client, path, pair.visitor, kind="evidence", document=None), PDF)
    deliver(aws)
    post(client, f"{path}/closing-report", pair.visitor, {**REPORT, "outcomes": "A pilot and photos"})
    approved = body(post(client, f"{path}/closing-report/decision", pair.vop, {"decision": "approve"}))
    assert approved["status"] == "report_approved"
    assert approved["report"]["outcomes"] == "A pilot and photos"


def test_approval_computes_the_lump_sum_and_the_finance_function_instructs_it_once(client, pair, aws, s3):
    # Given an approved report; the stream delivered twice (a replay)
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    run_effects(aws)
    payment = body(get(client, f"{path}/payment", pair.visitor))
    # Then: Germany's rate, a full week, 800 km apart: no reduction; due ten days after the approval
    assert (payment["status"], payment["amount_eur"], payment["due_by"]) == ("calculated", 830, "2027-04-27")
    assert payment["breakdown"]["reductions"] == [] and payment["breakdown"]["distance_km"] > 700
    assert get(client, f"{path}/payment", pair.host).status_code == 403
    assert get(client, f"{path}/payment", pair.hop).status_code == 403
    # When the finance function gets the message, and what that caused is delivered
    deliver_payments(aws)
    run_effects(aws)
    instructed = body(get(client, f"{path}/payment", pair.vop))
    assert instructed["status"] == "instructed" and instructed["transfer_reference"].startswith("CXC-")
    # Then one payment, one ledger entry, one transfer file, holding the right accounts and amount
    assert PaymentModel.count() == 1 and LedgerModel.count() == 1
    [key] = _artifact_keys("transfers/")
    assert key.startswith("transfers/epix/")
    xml = boto3.client("s3", region_name="eu-west-1").get_object(Bucket=ARTIFACTS, Key=key)["Body"].read()
    tree = ET.parse(io.BytesIO(xml))
    assert tree.find(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS).text == "830.00"
    assert tree.find(".//p:CdtrAcct/p:Id/p:IBAN", NS).text == test_exchanges.IBAN
    assert tree.find(".//p:EndToEndId", NS).text == payment["reference"]
    # And the VO and the VOP are told, once
    told = [m for m in sent_emails() if "on its way" in m.subject]
    assert sorted(m.destinations["ToAddresses"][0] for m in told) == sorted(
        ["ada@acme.example", "exchanges@epix.example"]
    )


def test_the_same_message_from_two_threads_at_once_pays_once(client, pair, aws, s3):
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    payment_id = body(get(client, f"{path}/payment", pair.vop))["id"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(
            pool.map(
                lambda _: _try(lambda: payment_service.handle_instruction({"payment_id": payment_id})),
                range(4),
            )
        )
    assert any(o == "ok" for o in outcomes), outcomes
    deliver_payments(aws)  # and the queued message on top
    assert LedgerModel.count() == 1 and len(_artifact_keys("transfers/")) == 1
    assert body(get(client, f"{path}/payment", pair.vop))["status"] == "instructed"


def _try(call):
    try:
        call()
    except Exception as exc:  # a concurrent delivery is refused while one is in progress
        return type(exc).__name__
    return "ok"


def test_a_gateway_that_fails_twice_then_succeeds_pays_once(client, pair, aws, s3, install_ports):
    flaky = FlakyGateway(failures=2)
    install_ports(gateway=flaky)
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    payment = body(get(client, f"{path}/payment", pair.vop))
    assert (payment["status"], payment["attempts"], flaky.calls) == ("instructed", 2, 3)
    assert LedgerModel.count() == 1 and len(_artifact_keys("transfers/")) == 1


def test_a_gateway_that_always_fails_ends_failed_and_a_retry_instructs_it_once(
    client, pair, aws, s3, install_ports, token
):
    flaky = FlakyGateway(failures=10**6)
    install_ports(gateway=flaky)
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)  # three attempts, then the message is on the dead-letter queue
    deliver_payments(aws, queue="payments-dlq")
    failed = body(get(client, f"{path}/payment", pair.vop))
    assert failed["status"] == "failed" and "bank channel unavailable" in failed["failure_reason"]
    assert failed["attempts"] == 3
    # When finance retries once the channel works again
    flaky.mend()
    finance = token("clerk@epix.example", "finance", "epix")
    assert post(client, f"/v1/payments/{failed['id']}/retry", pair.vop).status_code == 403
    retried = post(client, f"/v1/payments/{failed['id']}/retry", finance)
    assert retried.status_code == 200 and body(retried)["status"] == "calculated"
    again = post(client, f"/v1/payments/{failed['id']}/retry", finance)
    assert again.status_code == 409 and body(again)["error"]["code"] == "INVALID_STATUS"
    run_effects(aws)  # the retry's new round is queued from the outbox
    deliver_payments(aws)
    assert body(get(client, f"{path}/payment", pair.vop))["status"] == "instructed"
    assert LedgerModel.count() == 1


def test_finance_confirms_the_bank_execution_and_the_exchange_is_paid(client, pair, aws, s3, token):
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    payment = body(get(client, f"{path}/payment", pair.visitor))
    finance = token("clerk@epix.example", "finance", "epix")
    other = token("clerk@ce4big.example", "finance", "ce4big")
    confirm = {"bank_reference": "BANK-REF-1", "paid_at": "2027-04-20"}
    fake_clock().set_today(date(2027, 4, 21))
    assert post(client, f"/v1/payments/{payment['id']}/confirm", other, confirm).status_code == 404
    early = post(
        client, f"/v1/payments/{payment['id']}/confirm", finance, {**confirm, "paid_at": "2027-05-01"}
    )
    assert early.status_code == 422
    paid = body(post(client, f"/v1/payments/{payment['id']}/confirm", finance, confirm))
    assert (paid["status"], paid["paid_at"], paid["bank_reference"]) == ("paid", "2027-04-20", "BANK-REF-1")
    assert body(get(client, path, pair.visitor))["status"] == "paid"
    run_effects(aws)
    told = [m for m in sent_emails() if m.subject.endswith("is paid")]
    assert sorted(m.destinations["ToAddresses"][0] for m in told) == sorted(
        ["ada@acme.example", "exchanges@epix.example"]
    )
    twice = post(client, f"/v1/payments/{payment['id']}/confirm", finance, confirm)
    assert twice.status_code == 409


def test_finance_lists_its_partnerships_payments_and_gets_the_transfer_file(client, pair, aws, s3, token):
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    payment_id = body(get(client, f"{path}/payment", pair.vop))["id"]
    finance = token("clerk@epix.example", "finance", "epix")
    everyone = token("desk@clusterxchange.example", "finance")
    other = token("clerk@ce4big.example", "finance", "ce4big")
    early = get(client, f"/v1/payments/{payment_id}/transfer-file", finance)
    assert early.status_code == 409 and body(early)["error"]["code"] == "TRANSFER_NOT_READY"
    deliver_payments(aws)
    assert [p["id"] for p in body(get(client, "/v1/payments", finance))["items"]] == [payment_id]
    assert [p["id"] for p in body(get(client, "/v1/payments", everyone))["items"]] == [payment_id]
    assert body(get(client, "/v1/payments", other))["items"] == []
    assert body(get(client, "/v1/payments?status=paid", finance))["items"] == []
    assert body(get(client, "/v1/payments?overdue=true", finance))["items"] == []
    assert get(client, "/v1/payments", pair.vop).status_code == 403
    link = body(get(client, f"/v1/payments/{payment_id}/transfer-file", finance))
    assert link["url"] and link["transfer_reference"].startswith("CXC-")
    assert get(client, f"/v1/payments/{payment_id}/transfer-file", other).status_code == 404


def test_payments_not_paid_by_their_due_date_are_marked_overdue_once(client, pair, aws, s3, token):
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    tick_on("2027-04-27")  # the due date itself: not overdue yet
    assert body(get(client, f"{path}/payment", pair.vop))["overdue"] is False
    tick_on("2027-04-28")
    tick_on("2027-04-29")
    assert body(get(client, f"{path}/payment", pair.vop))["overdue"] is True
    told = [m for m in sent_emails() if "overdue" in m.subject]
    assert len(told) == 1 and told[0].destinations["ToAddresses"] == ["finance@clusterxchange.example"]
    finance = token("clerk@epix.example", "finance", "epix")
    assert len(body(get(client, "/v1/payments?overdue=true", finance))["items"]) == 1


def test_a_virtual_exchange_has_nothing_to_pay_and_is_closed(client, pair, aws, s3):
    path = _with_evidence(client, pair, aws, s3, mode="virtual")
    post(client, f"{path}/closing-report", pair.visitor, REPORT)
    post(client, f"{path}/closing-report/decision", pair.vop, {"decision": "approve"})
    run_effects(aws)
    payment = body(get(client, f"{path}/payment", pair.visitor))
    assert (payment["status"], payment["amount_eur"]) == ("nothing_to_pay", 0)
    assert [r["code"] for r in payment["breakdown"]["reductions"]] == ["VIRTUAL"]
    assert body(get(client, path, pair.visitor))["status"] == "closed"
    assert queue_event(aws.queue_urls["payments"], aws.queue_arns["payments"])["Records"] == []


def test_evidence_uploaded_after_the_report_lets_the_vop_approve_it(client, pair, aws, s3):
    # Given a report filed before any evidence
    path = _completed(client, pair, aws)
    submitted = body(post(client, f"{path}/closing-report", pair.visitor, REPORT))
    assert submitted["status"] == "report_submitted"
    # Then the VO is offered, and may take, the evidence upload while the report awaits its decision
    assert "upload_evidence" in submitted["actions"]
    put(s3, form(client, path, pair.visitor, kind="evidence", document=None), PDF)
    deliver(aws)
    # And the VOP approves without rejecting first
    approved = post(client, f"{path}/closing-report/decision", pair.vop, {"decision": "approve"})
    assert approved.status_code == 200, approved.body
    assert body(approved)["status"] == "report_approved"


def test_a_payment_paid_after_its_due_date_is_no_longer_overdue(client, pair, aws, s3, token):
    # Given a payment found overdue (due 2027-04-27)
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    tick_on("2027-04-29")
    finance = token("clerk@epix.example", "finance", "epix")
    payment = body(get(client, f"{path}/payment", pair.vop))
    assert payment["overdue"] is True
    # When finance records the bank's late execution
    confirm = {"bank_reference": "BANK-REF-LATE", "paid_at": "2027-04-29"}
    paid = post(client, f"/v1/payments/{payment['id']}/confirm", finance, confirm)
    assert paid.status_code == 200, paid.body
    assert body(paid)["overdue"] is False
    # Then neither read calls it overdue, however late it is read
    tick_on("2027-05-03")
    assert body(get(client, f"{path}/payment", pair.vop))["overdue"] is False
    assert body(get(client, "/v1/payments?overdue=true", finance))["items"] == []
    listed = body(get(client, "/v1/payments?overdue=false", finance))["items"]
    assert [(p["id"], p["status"], p["overdue"]) for p in listed] == [(payment["id"], "paid", False)]


def test_an_exchange_without_agreed_facts_is_refused_a_lump_sum_not_paid_on_a_guess(client, pair, aws, s3):
    from chalicelib.errors import RuleBroken
    from chalicelib.store import exchanges as exchange_store

    path = _approved(client, pair, aws, s3)
    doc = exchange_store.get(path.rsplit("/", 1)[1])
    try:
        payment_service.settle_lump_sum({**doc, "agreed": None})
    except RuleBroken as refused:
        assert refused.code == "NO_AGREED_FACTS"
    else:
        raise AssertionError("a lump sum was computed without agreed facts")
    assert PaymentModel.count() == 0
