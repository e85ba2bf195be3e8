"""The CV check after upload: S3 notification -> SQS -> on_document_uploaded, on moto's real delivery."""

from __future__ import annotations

import hashlib
import json

import boto3
import pytest

import app as app_module
from chalicelib.services import reference as reference_service
from chalicelib.store.audit import entries_for
from chalicelib.store.models import RegistrationModel
from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, register
from tests.events.helpers import REGION, queue_event

BUCKET = "cxc-test-documents"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture
def ada(client, token):
    seed_partnerships()
    reference_service.forget_cache()
    tok = token("ada@acme.example")
    created = body(register(client, tok))
    yield tok, created["id"]
    reference_service.forget_cache()


@pytest.fixture
def s3():
    return boto3.client("s3", region_name=REGION)


def _upload_form(client, tok):
    response = client.http.post(
        "/v1/registrations/me/cv",
        headers=auth(tok),
        body=json.dumps({"filename": "cv.pdf", "content_type": "application/pdf", "size": 1000}),
    )
    assert response.status_code == 200
    return body(response)["upload"]["fields"]


def _deliver(aws):
    """Hand every waiting notification to the function, as the SQS event source mapping would."""
    event = queue_event(aws.queue_urls["documents"], aws.queue_arns["documents"])
    assert event["Records"], "moto delivered no notification"
    response = app_module.on_document_uploaded(event, None)
    assert response == {"batchItemFailures": []}
    return event


def _exists(s3, key):
    return s3.list_objects_v2(Bucket=BUCKET, Prefix=key)["KeyCount"] == 1


def test_pdf_is_accepted_with_its_size_and_hash(aws, client, ada, s3):
    # Given the upload the browser makes to the presigned form
    tok, registration_id = ada
    key = _upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF, ContentType="application/pdf")
    # When
    _deliver(aws)
    # Then
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "accepted"
    assert cv["key"] == key
    assert cv["size"] == len(PDF)
    assert cv["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert cv["checked_at"]
    assert _exists(s3, key)
    shown = body(client.http.get("/v1/registrations/me", headers=auth(tok)))["cv"]
    assert shown["status"] == "accepted" and "key" not in shown
    export = body(client.http.get("/v1/registrations/me/export", headers=auth(tok)))["cv"]
    assert export["sha256"] == cv["sha256"]
    assert key in export["download_url"] and export["expires_in"] == 300


def test_png_named_pdf_is_rejected_and_deleted(aws, client, ada, s3):
    tok, registration_id = ada
    key = _upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PNG, ContentType="application/pdf")
    _deliver(aws)
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "rejected"
    assert cv["reason"] == "not a PDF"
    assert not _exists(s3, key)


def test_object_over_5_mb_is_rejected_and_deleted(aws, client, ada, s3):
    tok, registration_id = ada
    key = _upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF + b"0" * (5 * 1024 * 1024))
    _deliver(aws)
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "rejected"
    assert cv["reason"] == "larger than 5 MB"
    assert not _exists(s3, key)


def test_redelivered_notification_is_a_no_op(aws, client, ada, s3):
    tok, registration_id = ada
    key = _upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    event = _deliver(aws)
    version = RegistrationModel.get(registration_id).version
    # When the same batch comes again
    assert app_module.on_document_uploaded(event, None) == {"batchItemFailures": []}
    # Then
    assert RegistrationModel.get(registration_id).version == version
    actions = [e["action"] for e in entries_for(f"registration#{registration_id}")]
    assert actions.count("cv.accepted") == 1
    assert _exists(s3, key)


def test_a_new_cv_replaces_the_old_one_once_checked(aws, client, ada, s3):
    tok, registration_id = ada
    first = _upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=first, Body=PDF)
    _deliver(aws)
    # When a second CV is asked for: the first stays readable until the second is checked
    second = _upload_form(client, tok)["key"]
    assert _exists(s3, first)
    s3.put_object(Bucket=BUCKET, Key=second, Body=PDF + b"% v2\n")
    _deliver(aws)
    # Then
    assert RegistrationModel.get(registration_id).cv["key"] == second
    assert not _exists(s3, first)
    assert _exists(s3, second)


def test_upload_to_a_superseded_form_is_deleted(aws, client, ada, s3):
    tok, registration_id = ada
    stale = _upload_form(client, tok)["key"]
    current = _upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=stale, Body=PDF)
    _deliver(aws)
    assert not _exists(s3, stale)
    cv = RegistrationModel.get(registration_id).cv
    assert (cv["status"], cv["key"]) == ("awaiting_upload", current)


def test_objects_without_a_registration_are_deleted_and_other_prefixes_left_alone(aws, client, ada, s3):
    orphan = "cv/reg_" + "0" * 32 + "/" + "1" * 32 + ".pdf"
    odd = "cv/whatever.pdf"
    other = "exchanges/x/evidence.pdf"
    for key in (orphan, odd, other):
        s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    _deliver(aws)
    assert not _exists(s3, orphan)
    assert not _exists(s3, odd)
    assert _exists(s3, other)


def test_withdrawal_deletes_the_cv(aws, client, ada, s3):
    tok, registration_id = ada
    key = _upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    _deliver(aws)
    assert client.http.delete("/v1/registrations/me", headers=auth(tok)).status_code == 202
    assert not _exists(s3, key)
    assert RegistrationModel.get(registration_id).cv is None
