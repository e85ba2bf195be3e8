"""What changes cause, under faults: every effect is written with its change (the outbox) and delivered by
one dispatcher that reads the stored object, retries with backoff, re-drives from the schedule what its
stream did not deliver, and gives up only into the support list. AWS calls fail before or after taking
effect, invocations die between two steps, records arrive late and twice (tests/faults.py)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

import app as app_module
from chalicelib import clock
from chalicelib.services import effects
from chalicelib.services import exchanges as exchange_service
from chalicelib.store import exchanges as exchange_store
from chalicelib.store.models import LedgerModel, OutboxModel, PaymentModel
from tests.api import test_exchanges
from tests.api.conftest import auth
from tests.api.helpers import body
from tests.api.test_exchanges import _ready, _validated, get, post
from tests.api.test_finalisation import ARTIFACTS, _approved, _artifact_keys, deliver_payments, tick_on
from tests.events import test_cv_check
from tests.events.helpers import pending_effects, queue_event, run_effects, sent_emails, stream_event
from tests.fakes import FlakyGateway, fake_clock
from tests.faults import Killed

pair = test_exchanges.pair
s3 = test_cv_check.s3
ada = test_cv_check.ada


def _mails(fragment: str) -> list[tuple[str, str]]:
    return sorted(
        (m.destinations["ToAddresses"][0], m.subject) for m in sent_emails() if fragment in m.subject
    )


def _stream_once(aws) -> None:
    """The outbox's stream handed to the dispatcher once (what it holds so far; delivered items skip)."""
    assert app_module.deliver_effects(stream_event(aws.stream_arns["outbox"]), None) == {
        "batchItemFailures": []
    }


def _agreement_pdf(params) -> bool:
    return params.get("Bucket") == ARTIFACTS and str(params.get("Key", "")).startswith("exchanges/")


def _tick_days_later(days: int) -> None:
    """The schedule runs `days` later (an app entry point: faults apply to what it re-drives)."""
    tick_on((clock.today() + timedelta(days=days)).isoformat())


def _later(**delta: float):
    """A moment past every backoff and lease, for the schedule's re-drive."""
    return clock.now() + timedelta(**delta)


def _items(effect: str) -> list[OutboxModel]:
    return [m for m in OutboxModel.by_queue.query("pending") if m.effect == effect] + [
        m for m in OutboxModel.by_queue.query("stuck") if m.effect == effect
    ]


# --- the mechanism ------------------------------------------------------------------------------------


def test_every_effect_a_table_names_has_a_handler():
    from chalicelib.rules import contact_request, registration, support_query
    from chalicelib.rules.exchange_flow import FLOW, IN_TRANSACTION

    assert FLOW.effects_of() - IN_TRANSACTION <= set(effects.HANDLERS)
    assert registration.LIFECYCLE.effects_of() <= set(effects.HANDLERS)
    assert contact_request.LIFECYCLE.effects_of() | set(contact_request.ON_CREATE) <= set(effects.HANDLERS)
    assert support_query.LIFECYCLE.effects_of() <= set(effects.HANDLERS)
    for name in effects.HANDLERS:
        assert callable(effects.handler(name))


def test_an_effect_is_written_in_the_same_transaction_as_its_change(client, pair, aws, faults):
    # Given the write of the second approval fails before it takes effect
    path = test_exchanges._submitted(client, pair)
    post(client, f"{path}/review", pair.vop, {"decision": "approve"})
    faults.fail("TransactWriteItems", function="api_handler")
    failed = post(client, f"{path}/review", pair.hop, {"decision": "approve"})
    # Then nothing of it is there: no validation, no rendering staged
    assert failed.status_code >= 500
    assert body(get(client, path, pair.vop))["status"] == "submitted"
    assert _items("render_agreements") == []
    # And once it goes through, the rendering is staged with it and delivered once
    assert body(post(client, f"{path}/review", pair.hop, {"decision": "approve"}))["status"] == "validated"
    assert len(_items("render_agreements")) == 1
    run_effects(aws)
    run_effects(aws)
    assert [d["version"] for d in body(get(client, f"{path}/documents", pair.vop))["items"]] == [1, 1]
    assert pending_effects() == []


def test_a_delivery_that_dies_is_taken_over_by_the_schedule_once_its_lease_runs_out(
    client, pair, aws, faults
):
    # Given the dispatcher dies after rendering the agreements, before recording them
    path = _validated(client, pair)
    faults.fail(
        "TransactWriteItems",
        function="deliver_effects",
        kill=True,
        match=lambda params: "documents_generated" in json.dumps(params),
    )
    with pytest.raises(Killed):
        app_module.deliver_effects(stream_event(aws.stream_arns["outbox"]), None)
    # When the stream hands the record on again at once: the item is leased to the dead delivery
    assert run_effects(aws) is not None
    assert body(get(client, f"{path}/documents", pair.vop))["items"] == []
    # Then the schedule delivers it after the lease: rendered once, and the signers asked
    assert effects.redrive(_later(minutes=6)) >= 1
    run_effects(aws)
    assert [d["version"] for d in body(get(client, f"{path}/documents", pair.vop))["items"]] == [1, 1]
    assert len(_mails("waiting for you")) >= 4


# --- defect 1: the payment is instructed, the invocation fails: the VO and VOP are still told ---------


def test_an_instruction_whose_answer_is_lost_after_the_write_still_tells_the_vo_and_vop(
    client, pair, aws, s3, faults
):
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    # The payment's move to instructed is written, then the invocation fails (its answer lost)
    faults.fail(
        "TransactWriteItems",
        when="after",
        function="on_payment_instruction",
        match=lambda params: "instructed" in json.dumps(params),
    )
    deliver_payments(aws)
    assert body(get(client, f"{path}/payment", pair.vop))["status"] == "instructed"
    # And SES fails on the stream's delivery of the notice
    faults.fail("SendEmail", function="deliver_effects")
    _stream_once(aws)
    assert _mails("on its way") == []
    effects.redrive(_later(hours=2))
    told = _mails("on its way")
    assert [to for to, _ in told] == ["ada@acme.example", "exchanges@epix.example"]
    effects.redrive(_later(hours=4))
    run_effects(aws)
    assert len(_mails("on its way")) == 2 and LedgerModel.count() == 1


# --- defect 2: a late duplicate after the dead-letter function never swallows finance's retry --------


def test_a_late_duplicate_of_a_failed_instruction_does_not_swallow_the_retry(
    client, pair, aws, s3, token, install_ports
):
    from chalicelib.services import payments as payment_service

    flaky = FlakyGateway(failures=10**6)
    install_ports(gateway=flaky)
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    payment_id = body(get(client, f"{path}/payment", pair.vop))["id"]
    deliver_payments(aws)
    deliver_payments(aws, queue="payments-dlq")
    assert body(get(client, f"{path}/payment", pair.vop))["status"] == "failed"
    # A late duplicate of the first message arrives (SQS delivers at least once): a no-op, remembered
    payment_service.handle_instruction({"payment_id": payment_id, "round": 1})
    # When finance retries with the channel working
    flaky.mend()
    finance = token("clerk@epix.example", "finance", "epix")
    assert body(post(client, f"/v1/payments/{payment_id}/retry", finance))["status"] == "calculated"
    run_effects(aws)
    deliver_payments(aws)
    # Then the retry is a new round, not the old answer: instructed once
    assert body(get(client, f"{path}/payment", pair.vop))["status"] == "instructed"
    assert LedgerModel.count() == 1 and len(_artifact_keys("transfers/")) == 1
    # And a dead letter of the old round arriving now changes nothing
    payment_service.handle_dead_letter({"payment_id": payment_id, "round": 1})
    assert body(get(client, f"{path}/payment", pair.vop))["status"] == "instructed"


# --- defect 3: finance's retry when SQS fails is queued later, never lost ----------------------------


def test_finance_retry_with_sqs_failing_answers_at_once_and_queues_later(
    client, pair, aws, s3, token, install_ports, faults
):
    flaky = FlakyGateway(failures=10**6)
    install_ports(gateway=flaky)
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    payment_id = body(get(client, f"{path}/payment", pair.vop))["id"]
    deliver_payments(aws)
    deliver_payments(aws, queue="payments-dlq")
    flaky.mend()
    finance = token("clerk@epix.example", "finance", "epix")
    faults.fail("SendMessage", times=3)
    # The retry answers from the payment's own write: no 500, and it is queued for delivery
    retried = post(client, f"/v1/payments/{payment_id}/retry", finance)
    assert retried.status_code == 200 and body(retried)["status"] == "calculated"
    run_effects(aws)  # the stream's delivery fails on SQS
    assert queue_event(aws.queue_urls["payments"], aws.queue_arns["payments"])["Records"] == []
    # A second retry is refused (it is queued, not failed), and the schedule queues it when SQS is back
    assert post(client, f"/v1/payments/{payment_id}/retry", finance).status_code == 409
    _tick_days_later(1)  # SQS still failing
    assert queue_event(aws.queue_urls["payments"], aws.queue_arns["payments"])["Records"] == []
    _tick_days_later(1)
    deliver_payments(aws)
    assert body(get(client, f"{path}/payment", pair.vop))["status"] == "instructed"
    assert LedgerModel.count() == 1


# --- defect 5: an old record never mails about a state that has passed ---------------------------------


def test_an_old_ask_delivered_after_a_cancellation_mails_nobody_to_sign(client, pair, aws, faults):
    # Given a validated exchange whose agreements are rendered (the signers' ask staged, not delivered)
    path = _validated(client, pair)
    items = [m.id for m in OutboxModel.by_queue.query("pending")]
    for item_id in items:
        effects.deliver(item_id)
    asks = [m.id for m in _items("tell_parties")]
    assert asks, "rendering the agreements asks the signers"
    # When the exchange is cancelled before the ask is delivered, and the ask arrives after the notice
    post(client, f"{path}/cancel", pair.vop, {"reason": "The host closed."})
    notices = [m.id for m in _items("tell_parties") if m.id not in asks]
    for item_id in notices + asks:
        effects.deliver(item_id)
    # Then the parties are told it was cancelled, and nobody is asked to sign it
    assert _mails("waiting for you") == []
    assert len(_mails("is cancelled")) == 4


# --- defect 6: rendering that fails longer than the stream retries is re-driven -----------------------


def test_rendering_while_s3_fails_for_long_is_re_driven_then_given_up_into_the_support_list(
    client, pair, aws, token, faults
):
    path = _validated(client, pair)
    faults.fail("PutObject", times=100, match=_agreement_pdf)
    _stream_once(aws)  # the stream's delivery fails; the stream moves on
    assert body(get(client, f"{path}/documents", pair.vop))["items"] == []
    [item] = _items("render_agreements")
    assert item.queue == "pending" and "injected" in item.last_error
    # The schedule re-drives it with backoff until it gives up: stuck, with the reason, for support
    for _ in range(effects.MAX_ATTEMPTS + 2):
        _tick_days_later(1)
    [item] = _items("render_agreements")
    assert item.queue == "stuck" and item.attempts == effects.MAX_ATTEMPTS
    admin = token("root@clusterxchange.example", "admin")
    listed = body(get(client, "/v1/ops/stuck", admin))["items"]
    assert [(i["effect"], i["subject"]["kind"]) for i in listed] == [("render_agreements", "exchange")]
    assert "PutObject" in listed[0]["last_error"]
    assert get(client, "/v1/ops/stuck", pair.vop).status_code == 403
    # When S3 is back and support puts it back, it is delivered: the agreements exist, nothing is stuck
    faults.calm()
    retried = post(client, f"/v1/ops/stuck/{listed[0]['id']}/retry", admin)
    assert retried.status_code == 200 and body(retried)["attempts"] == 0
    tick_on(clock.today().isoformat())  # the schedule's next run delivers it
    assert [d["version"] for d in body(get(client, f"{path}/documents", pair.vop))["items"]] == [1, 1]
    assert body(get(client, "/v1/ops/stuck", admin))["items"] == []
    assert post(client, f"/v1/ops/stuck/{listed[0]['id']}/retry", admin).status_code == 404


def test_rendering_while_s3_fails_briefly_is_delivered_by_the_schedule(client, pair, aws, faults):
    path = _validated(client, pair)
    faults.fail("PutObject", times=2, match=_agreement_pdf)
    _stream_once(aws)
    tick_on(clock.today().isoformat())  # not due yet: the backoff holds
    assert body(get(client, f"{path}/documents", pair.vop))["items"] == []
    _tick_days_later(1)  # fails again
    assert body(get(client, f"{path}/documents", pair.vop))["items"] == []
    _tick_days_later(1)
    assert [d["version"] for d in body(get(client, f"{path}/documents", pair.vop))["items"]] == [1, 1]


# --- defect 7: overdue notices survive a crash between marks and a failing mail ------------------------


def test_overdue_notices_survive_a_schedule_that_dies_between_marks_and_a_failing_mail(
    client, pair, aws, s3, faults
):
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    run_effects(aws)
    # The schedule marks the payment overdue, then SES fails on finance's mail
    faults.fail("SendEmail", times=2, function="tick")
    faults.fail("SendEmail", times=1, function="deliver_effects")
    tick_on("2027-04-28")
    _stream_once(aws)
    assert body(get(client, f"{path}/payment", pair.vop))["overdue"] is True
    assert _mails("overdue") == []
    # Then the next runs of the schedule tell finance, once
    tick_on("2027-04-29")
    tick_on("2027-04-30")
    tick_on("2027-05-01")
    assert _mails("overdue") == [
        (
            "finance@clusterxchange.example",
            f"ClusterXchange: payment {body(get(client, path, pair.vop))['reference']} is overdue",
        )
    ]


def test_a_schedule_killed_between_two_overdue_marks_loses_no_notice(aws, faults):
    # Given two open payments past their due date (made directly: the schedule is what is under test)
    from chalicelib.services import payments as payment_service
    from chalicelib.store import payments as payment_store

    for n in (1, 2):
        payment_store.create(
            {
                "id": f"pay_{n:032x}",
                "exchange_id": f"exc_{n:032x}",
                "reference": f"CXC-2027-00000{n}",
                "vop": "epix",
                "visitor_user": None,
                "status": "instructed",
                "amount_eur": 500,
                "breakdown": {},
                "creditor": None,
                "due_by": "2027-04-20",
                "created_at": "2027-04-10T00:00:00.000Z",
                "updated_at": "2027-04-10T00:00:00.000Z",
                "version": None,
            },
            payment_service._entry(
                {"id": f"pay_{n:032x}", "status": "instructed", "updated_at": "2027-04-10T00:00:00.000Z"},
                "calculated",
                "test",
                None,
                None,
            ),
        )
    # When the schedule dies after marking the first
    faults.fail(
        "TransactWriteItems",
        function="tick",
        kill=True,
        match=lambda p: "pay_" + "0" * 31 + "2" in json.dumps(p),
    )
    with pytest.raises(Killed):
        tick_on("2027-04-25")
    run_effects(aws)
    assert [to for to, _ in _mails("overdue")] == ["finance@clusterxchange.example"]
    # Then its next run marks the second, and finance hears of each once
    tick_on("2027-04-25")
    run_effects(aws)
    tick_on("2027-04-25")
    assert len(_mails("overdue")) == 2
    assert {PaymentModel.get(f"pay_{n:032x}").overdue_since for n in (1, 2)} == {"2027-04-25"}


# --- defect 8: two overlapping runs of the schedule take one step each day -----------------------------


def test_two_overlapping_schedule_runs_start_an_exchange_without_completing_it(
    client, pair, aws, monkeypatch
):
    path = _ready(client, pair, aws)
    exchange_id = path.rsplit("/", 1)[1]
    fake_clock().set_today(date(2027, 4, 12))
    # Both runs found the exchange due (the second read the index before the first moved it)
    due = exchange_store.due_by(date(2027, 4, 12))
    assert due == [exchange_id]
    monkeypatch.setattr(exchange_store, "due_by", lambda day, limit=100: due)
    exchange_service.advance_by_dates(date(2027, 4, 12))
    exchange_service.advance_by_dates(date(2027, 4, 12))
    assert body(get(client, path, pair.vop))["status"] == "in_progress"
    exchange_service.advance_by_dates(date(2027, 4, 17))
    assert body(get(client, path, pair.vop))["status"] == "completed"


# --- defect 9: registrations' and contact requests' mail acted on the stream's image ------------------


def _deliver(aws, rounds: int = 1) -> None:
    """Every stream hands on all it holds, `rounds` times (a failed batch is handed on again, as Lambda
    retries it before parking it); what fails is the stream's to retry, not the test's to see."""
    for _ in range(rounds):
        for table, function in (
            ("registrations", app_module.on_registration_change),
            ("outbox", app_module.deliver_effects),
        ):
            event = stream_event(aws.stream_arns[table])
            if event["Records"]:
                function(event, None)


@pytest.fixture
def applicant(ada, token):
    """Ada's registration (pending), and an officer of its partnership to decide on it."""
    tok, registration_id = ada
    return SimpleNamespace(
        token=tok, id=registration_id, officer=token("exchanges@epix.example", "partnership", "epix")
    )


_ACCEPTED_MAIL = ("ada@acme.example", "ClusterXchange: the registration of Acme IoT is accepted")


def test_a_decision_delivered_after_the_registration_was_withdrawn_mails_nobody(client, applicant, aws):
    from tests.api.helpers import decide

    assert decide(client, applicant.officer, applicant.id, "accept").status_code == 200
    # The applicant withdraws before what the decision causes is delivered
    assert client.http.delete("/v1/registrations/me", headers=auth(applicant.token)).status_code == 202
    _deliver(aws, rounds=2)
    # Nobody is told of an acceptance that no longer holds (nor at an address kept for it)
    assert _mails("registration of") == []


def test_a_decision_mail_ses_refuses_through_every_retry_of_the_stream_is_sent_later_once(
    client, applicant, aws, faults
):
    from tests.api.helpers import decide
    from tests.api.test_finalisation import tick_on

    assert decide(client, applicant.officer, applicant.id, "accept").status_code == 200
    faults.fail("SendEmail", times=4)
    _deliver(aws, rounds=4)  # the first delivery and the stream's three retries: then it moves on
    assert _mails("registration of") == []
    # The stream has given up on it (parked); the schedule's next runs are what is left
    tick_on((clock.today() + timedelta(days=1)).isoformat())
    tick_on((clock.today() + timedelta(days=1)).isoformat())
    assert _mails("registration of") == [_ACCEPTED_MAIL]


def _new_request(client, pair) -> str:
    sent = post(client, "/v1/contact-requests", pair.visitor, {"to": pair.host_id, "message": "Again?"})
    assert sent.status_code == 201, sent.body
    return body(sent)["id"]


def test_a_new_request_delivered_after_it_was_answered_asks_nobody_to_answer_it(client, pair, aws):
    _deliver(aws, rounds=3)  # what the pair's set-up caused
    before = _mails("a new contact request")
    request_id = _new_request(client, pair)
    # The host declines it before what sending it caused is delivered (a late or replayed record)
    declined = post(client, f"/v1/contact-requests/{request_id}/decline", pair.host, {"reason": "Full."})
    assert declined.status_code == 200, declined.body
    _deliver(aws, rounds=3)
    # The host is not asked to answer a request that is closed; the sender hears of the answer, once
    assert _mails("a new contact request") == before
    assert _mails("was declined") == [
        ("ada@acme.example", "ClusterXchange: your contact request was declined")
    ]


def test_a_new_request_mail_ses_refuses_through_every_retry_of_the_stream_is_sent_later_once(
    client, pair, aws, faults
):
    _deliver(aws, rounds=3)
    before = _mails("a new contact request")
    _new_request(client, pair)
    faults.fail("SendEmail", times=4)
    _deliver(aws, rounds=4)
    assert _mails("a new contact request") == before
    _tick_days_later(1)  # the stream has given up on it: the schedule's runs are what is left
    _tick_days_later(1)
    assert _mails("a new contact request") == sorted(
        [*before, ("hans@bdc.example", "ClusterXchange: a new contact request")]
    )
