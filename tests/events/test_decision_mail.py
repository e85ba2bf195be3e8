"""The applicant's e-mail on a decision: the decision's outbox item -> deliver_effects -> SES; and the
registrations stream, which only notes changes for the catalogue."""

from __future__ import annotations

import pytest

import app as app_module
from chalicelib.services import reference as reference_service
from infra.seed import seed_partnerships
from tests.api.helpers import body, decide, register
from tests.events.helpers import run_effects, sent_emails, stream_event


@pytest.fixture
def seeded(client):
    seed_partnerships()
    reference_service.forget_cache()
    yield client
    reference_service.forget_cache()


def _run_streams(aws):
    """Both streams handed on: the registrations' (the catalogue) and the outbox's (the mail)."""
    event = stream_event(aws.stream_arns["registrations"])
    assert event["Records"]
    assert app_module.on_registration_change(event, None) == {"batchItemFailures": []}
    return run_effects(aws)


def test_acceptance_is_mailed_to_the_representative(aws, seeded, token):
    # Given
    created = body(register(seeded, token("ada@acme.example")))
    officer = token("exchanges@epix.example", "partnership", "epix")
    assert decide(seeded, officer, created["id"], "accept").status_code == 200
    # When
    _run_streams(aws)
    # Then
    mails = sent_emails()
    assert len(mails) == 1
    assert mails[0].destinations["ToAddresses"] == ["ada@acme.example"]
    assert mails[0].source == "no-reply@clusterxchange.example"
    assert "Acme IoT" in mails[0].subject and "accepted" in mails[0].subject
    assert "Dear Ada Rossi" in mails[0].body


def test_rejection_mail_gives_the_reason_and_redelivery_sends_nothing_more(aws, seeded, token):
    created = body(register(seeded, token("ada@acme.example")))
    officer = token("exchanges@epix.example", "partnership", "epix")
    decide(seeded, officer, created["id"], "reject", "Your cluster is not one of our members.")
    # When the outbox's stream is read twice (a retried batch)
    event = _run_streams(aws)
    assert app_module.deliver_effects(event, None) == {"batchItemFailures": []}
    # Then
    mails = sent_emails()
    assert len(mails) == 1
    assert "not accepted" in mails[0].subject
    assert "Reason: Your cluster is not one of our members." in mails[0].body


def test_creation_edits_and_withdrawal_send_no_mail(aws, seeded, token):
    import json

    from tests.api.conftest import auth

    tok = token("ada@acme.example")
    register(seeded, tok)
    seeded.http.patch("/v1/registrations/me", headers=auth(tok), body=json.dumps({"motivation": "Changed."}))
    seeded.http.delete("/v1/registrations/me", headers=auth(tok))
    _run_streams(aws)
    assert sent_emails() == []


def test_a_refused_record_is_logged_with_its_code_and_reported_failed(
    aws, seeded, token, monkeypatch, caplog
):
    # Given a real stream record whose processing meets a domain error
    from chalicelib.errors import NotFound
    from chalicelib.services import catalogue
    from tests.api.helpers import registration

    refused_id = body(register(seeded, token("ada@acme.example")))["id"]
    other = registration()
    other["representative"]["email"] = "bob@acme.example"
    body(register(seeded, token("bob@acme.example"), other))
    real = catalogue.note_registration_change

    def refuse(old, new):
        if new["id"] == refused_id:
            raise NotFound("No such registration.", code="NOT_FOUND")
        real(old, new)

    monkeypatch.setattr(catalogue, "note_registration_change", refuse)
    event = stream_event(aws.stream_arns["registrations"])
    # When
    with caplog.at_level("WARNING", logger="clusterxchange"):
        result = app_module.on_registration_change(event, None)
    # Then the record is reported failed (retried, then parked), and the log names the code, not the data
    assert result == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][0]["dynamodb"]["SequenceNumber"]}]
    }
    refused = [r for r in caplog.records if r.getMessage() == "event record refused"]
    assert refused and refused[0].code == "NOT_FOUND"
    assert "ada@acme.example" not in caplog.text
