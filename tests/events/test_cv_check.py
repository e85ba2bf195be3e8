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
from tests import sample_files
from tests.api.conftest import auth
from tests.api.helpers import body, register
from tests.events.helpers import REGION, queue_event

BUCKET = "cxc-test-documents"
PDF = sample_files.pdf("Ada Rossi, curriculum vitae")
PNG = sample_files.png()
UNREADABLE_PDF = "not a readable PDF: it does not open as one"


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


def upload_form(client, tok):
    response = client.http.post(
        "/v1/registrations/me/cv",
        headers=auth(tok),
        body=json.dumps({"filename": "cv.pdf", "content_type": "application/pdf", "size": 1000}),
    )
    assert response.status_code == 200
    return body(response)["upload"]["fields"]


def deliver(aws):
    """Hand every waiting notification to the function, as the SQS event source mapping would, until
    none is left (accepting a file stores a copy, which is announced in turn). Returns the batches."""
    batches = []
    while True:
        event = queue_event(aws.queue_urls["documents"], aws.queue_arns["documents"])
        if not event["Records"]:
            break
        assert app_module.on_document_uploaded(event, None) == {"batchItemFailures": []}
        batches.append(event)
    assert batches, "moto delivered no notification"
    return batches


def exists(s3, key):
    return s3.list_objects_v2(Bucket=BUCKET, Prefix=key)["KeyCount"] == 1


def content(s3, key):
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def keys(s3, prefix=""):
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def actions(registration_id):
    return [e["action"] for e in entries_for(f"registration#{registration_id}")]


def test_pdf_is_accepted_with_its_size_and_hash_and_kept_under_a_stored_key(aws, client, ada, s3):
    # Given the upload the browser makes to the presigned form
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF, ContentType="application/pdf")
    # When
    deliver(aws)
    # Then the bytes it hashed are kept where no form can write, and the upload is gone
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "accepted"
    assert cv["key"] == key
    assert cv["size"] == len(PDF)
    assert cv["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert cv["checked_at"]
    assert cv["stored_key"] == f"stored/{key}"
    assert content(s3, cv["stored_key"]) == PDF
    assert not exists(s3, key)
    shown = body(client.http.get("/v1/registrations/me", headers=auth(tok)))["cv"]
    assert shown["status"] == "accepted" and "key" not in shown and "stored_key" not in shown
    export = body(client.http.get("/v1/registrations/me/export", headers=auth(tok)))["cv"]
    assert export["sha256"] == cv["sha256"]
    assert cv["stored_key"] in export["download_url"] and export["expires_in"] == 300
    assert set(export) <= {
        "status",
        "filename",
        "size",
        "sha256",
        "reason",
        "requested_at",
        "checked_at",
        "download_url",
        "expires_in",
    }


def test_png_named_pdf_is_rejected_and_deleted(aws, client, ada, s3):
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PNG, ContentType="application/pdf")
    deliver(aws)
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "rejected"
    assert cv["reason"] == "not a PDF"
    assert not exists(s3, key)
    assert keys(s3) == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (sample_files.HTML_AS_PDF, UNREADABLE_PDF),
        (PDF[: len(PDF) // 2], UNREADABLE_PDF),
        (PDF[:-40], UNREADABLE_PDF),
        (sample_files.pdf_without_pages(), "not a readable PDF: it has no pages"),
        (sample_files.encrypted_pdf("secret"), "not a readable PDF: it is encrypted with a password"),
    ],
    ids=["html-inside", "truncated", "no-trailer", "no-pages", "password"],
)
def test_a_file_that_only_starts_like_a_pdf_is_rejected_and_deleted(aws, client, ada, s3, data, reason):
    # Given an upload whose first bytes are "%PDF-" but which is no PDF a reader can open
    assert data.startswith(b"%PDF-")
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="application/pdf")
    # When
    deliver(aws)
    # Then it is removed and recorded rejected with the reason, as a file of the wrong type is
    cv = RegistrationModel.get(registration_id).cv
    assert (cv["status"], cv["reason"]) == ("rejected", reason)
    assert keys(s3) == []
    assert actions(registration_id)[-1] == "cv.rejected"


@pytest.mark.parametrize(
    "data",
    [sample_files.pdf("Ada Rossi", pages=3), sample_files.encrypted_pdf(user_password="")],
    ids=["three-pages", "opens-without-a-password"],
)
def test_a_pdf_that_opens_is_accepted(aws, client, ada, s3, data):
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    deliver(aws)
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "accepted" and cv["sha256"] == hashlib.sha256(data).hexdigest()
    assert content(s3, cv["stored_key"]) == data


def test_object_over_5_mb_is_rejected_and_deleted(aws, client, ada, s3):
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF + b"0" * (5 * 1024 * 1024))
    deliver(aws)
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "rejected"
    assert cv["reason"] == "larger than 5 MB"
    assert keys(s3) == []


def test_redelivered_notification_is_a_no_op(aws, client, ada, s3):
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    batches = deliver(aws)
    version = RegistrationModel.get(registration_id).version
    # When the same batches come again
    for event in batches:
        assert app_module.on_document_uploaded(event, None) == {"batchItemFailures": []}
    # Then
    assert RegistrationModel.get(registration_id).version == version
    assert actions(registration_id).count("cv.accepted") == 1
    assert content(s3, f"stored/{key}") == PDF


def test_a_new_cv_replaces_the_old_one_once_checked(aws, client, ada, s3):
    tok, registration_id = ada
    first = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=first, Body=PDF)
    deliver(aws)
    # When a second CV is asked for: the first stays until the second is checked
    second = upload_form(client, tok)["key"]
    assert exists(s3, f"stored/{first}")
    new_pdf = sample_files.pdf("Ada Rossi, curriculum vitae, 2027")
    s3.put_object(Bucket=BUCKET, Key=second, Body=new_pdf)
    deliver(aws)
    # Then
    cv = RegistrationModel.get(registration_id).cv
    assert cv["key"] == second and cv["sha256"] == hashlib.sha256(new_pdf).hexdigest()
    assert keys(s3) == [f"stored/{second}"]


def test_a_rejected_replacement_still_removes_the_old_cv(aws, client, ada, s3):
    tok, registration_id = ada
    first = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=first, Body=PDF)
    deliver(aws)
    second = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=second, Body=PNG)
    deliver(aws)
    assert RegistrationModel.get(registration_id).cv["status"] == "rejected"
    assert keys(s3) == []


def test_upload_to_a_superseded_form_is_deleted_and_recorded(aws, client, ada, s3):
    tok, registration_id = ada
    stale = upload_form(client, tok)["key"]
    current = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=stale, Body=PDF)
    deliver(aws)
    assert not exists(s3, stale)
    cv = RegistrationModel.get(registration_id).cv
    assert (cv["status"], cv["key"]) == ("awaiting_upload", current)
    assert actions(registration_id).count("cv.discarded.not_granted") == 1


def test_objects_without_a_registration_are_deleted(aws, client, ada, s3):
    orphan = "cv/reg_" + "0" * 32 + "/" + "1" * 32 + ".pdf"
    odd = "cv/whatever.pdf"
    for key in (orphan, odd):
        s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    deliver(aws)
    assert keys(s3) == []
    assert [e["action"] for e in entries_for("upload#unowned")] == ["cv.discarded.no_owner"] * 2


def test_withdrawal_deletes_the_cv(aws, client, ada, s3):
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    deliver(aws)
    assert client.http.delete("/v1/registrations/me", headers=auth(tok)).status_code == 202
    assert keys(s3) == []
    assert RegistrationModel.get(registration_id).cv is None


def test_an_upload_after_withdrawal_is_deleted(aws, client, ada, s3):
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    assert client.http.delete("/v1/registrations/me", headers=auth(tok)).status_code == 202
    # When the form is used after the registration was withdrawn
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    deliver(aws)
    assert keys(s3) == []
    assert actions(registration_id)[-1] == "cv.discarded.not_granted"
