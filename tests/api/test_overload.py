"""When DynamoDB asks the app to slow down (throttling that outlasted botocore's retries): a 503 with
`Retry-After` and nothing half-written, on signing, review and payment confirmation; an event function
hands the overload back so its record is delivered again. The faults are DynamoDB's own answers to the
app's calls (tests/faults.py, `faults.answering`)."""

from __future__ import annotations

from datetime import date

import pytest

from tests.api import test_exchanges, test_finalisation
from tests.api.helpers import body
from tests.api.test_exchanges import _submitted, _validated, get, post, run_effects
from tests.api.test_transaction_conflicts import _ready_to_sign
from tests.events import test_cv_check
from tests.fakes import fake_clock
from tests.faults import everything_stored

pair = test_exchanges.pair
s3 = test_cv_check.s3

THROTTLING = ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"]


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.body
    assert int(response.headers["Retry-After"]) >= 1
    error = body(response)["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"] and isinstance(error["details"], list)


@pytest.mark.parametrize("code", THROTTLING)
def test_a_throttled_signature_is_a_503_with_retry_after_and_writes_nothing(client, pair, aws, code, faults):
    # Given a validated exchange with its agreements
    path, signature = _ready_to_sign(client, pair, aws)
    before = everything_stored()
    # When DynamoDB throttles the signature's transaction
    with faults.answering(code) as fault:
        response = post(client, f"{path}/signatures", pair.visitor, signature)
    # Then the client is told to come back, and nothing was written
    _assert_unavailable(response)
    assert fault.answered == ["TransactWriteItems"]  # overload is not retried by the app
    assert everything_stored() == before
    # And once DynamoDB keeps up again the same request succeeds
    assert post(client, f"{path}/signatures", pair.visitor, signature).status_code == 200


def test_a_throttled_read_is_a_503_too(client, pair, aws, faults):
    path, signature = _ready_to_sign(client, pair, aws)
    before = everything_stored()
    with faults.answering("ProvisionedThroughputExceededException", operation="GetItem"):
        response = post(client, f"{path}/signatures", pair.visitor, signature)
    _assert_unavailable(response)
    assert everything_stored() == before


def test_a_transaction_cancelled_for_throttling_is_a_503(client, pair, aws, faults):
    # DynamoDB names throttling of one item of a transaction as its cancellation reason
    path = _submitted(client, pair)
    before = everything_stored()
    with faults.answering("TransactionCanceledException", reason="ThrottlingError"):
        response = post(client, f"{path}/review", pair.vop, {"decision": "approve"})
    _assert_unavailable(response)
    assert everything_stored() == before


@pytest.mark.parametrize("code", THROTTLING)
def test_a_throttled_review_is_a_503_and_writes_nothing(client, pair, code, faults):
    path = _submitted(client, pair)
    before = everything_stored()
    with faults.answering(code):
        response = post(client, f"{path}/review", pair.vop, {"decision": "approve"})
    _assert_unavailable(response)
    assert everything_stored() == before


def _instructed_payment(client, pair, aws, s3, token):
    path = test_finalisation._approved(client, pair, aws, s3)
    run_effects(aws)
    test_finalisation.deliver_payments(aws)
    payment = body(get(client, f"{path}/payment", pair.visitor))
    assert payment["status"] == "instructed"
    fake_clock().set_today(date(2027, 4, 21))
    return path, payment, token("clerk@epix.example", "finance", "epix")


def test_a_throttled_payment_confirmation_is_a_503_and_pays_nothing(client, pair, aws, s3, token, faults):
    # Given an instructed payment
    path, payment, finance = _instructed_payment(client, pair, aws, s3, token)
    confirm = {"bank_reference": "BANK-REF-1", "paid_at": "2027-04-20"}
    before = everything_stored()
    # When DynamoDB throttles the confirmation's transaction (the payment and the exchange)
    with faults.answering("ProvisionedThroughputExceededException"):
        response = post(client, f"/v1/payments/{payment['id']}/confirm", finance, confirm)
    # Then neither the payment nor the exchange is paid, and nothing else was written
    _assert_unavailable(response)
    assert everything_stored() == before
    # And the same confirmation succeeds afterwards
    paid = post(client, f"/v1/payments/{payment['id']}/confirm", finance, confirm)
    assert paid.status_code == 200 and body(paid)["status"] == "paid"
    assert body(get(client, path, pair.visitor))["status"] == "paid"


def test_an_event_function_hands_an_overload_back_so_its_record_is_retried(client, pair, aws, faults):
    # Given a validated exchange whose rendering is staged in the outbox
    _validated(client, pair)
    import app as app_module
    from tests.events.helpers import stream_event

    event = stream_event(aws.stream_arns["outbox"])
    # When DynamoDB throttles the dispatcher's every call (its claim of the item included)
    with faults.answering("ProvisionedThroughputExceededException", operation=None) as throttled:
        outcome = app_module.deliver_effects(event, None)
    assert throttled.answered  # the dispatcher did reach DynamoDB
    # Then the records that had work to do are reported failed, to be delivered again
    rendering = [
        r["dynamodb"]["SequenceNumber"]  # what a stream batch's failures name
        for r in event["Records"]
        if r["dynamodb"].get("NewImage", {}).get("effect", {}).get("S") == "render_agreements"
    ]
    assert rendering and set(rendering) <= {f["itemIdentifier"] for f in outcome["batchItemFailures"]}


def test_every_documented_route_says_it_may_answer_503(client):
    document = body(client.http.get("/v1/openapi.json"))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            answer = operation["responses"].get("503")
            assert answer is not None, (method, path)
            assert "SERVICE_UNAVAILABLE" in answer["description"], (method, path)
            assert "Retry-After" in answer.get("headers", {}), (method, path)
