"""The uploads mechanism on moto's real S3 -> SQS delivery: one-time upload keys, the stored copy of
exactly the bytes that were checked, and removal (with an audit entry) of everything else."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

import app as app_module
from chalicelib.handlers.events import _document_record
from chalicelib.services import uploads
from chalicelib.store import files
from chalicelib.store.audit import entries_for
from chalicelib.store.files import FetchedObject
from chalicelib.store.models import RegistrationModel
from tests import sample_files
from tests.api.conftest import auth
from tests.api.helpers import body
from tests.events import test_cv_check
from tests.events.helpers import queue_event
from tests.events.test_cv_check import BUCKET, PDF, PNG, actions, content, deliver, keys, upload_form

# The CV tests' fixtures: a registered participant and an S3 client.
ada = test_cv_check.ada
s3 = test_cv_check.s3

OTHER_PDF = sample_files.pdf("Somebody else's curriculum vitae")


def sha(data):
    return hashlib.sha256(data).hexdigest()


def _batch(aws):
    event = queue_event(aws.queue_urls["documents"], aws.queue_arns["documents"])
    assert event["Records"]
    return event


def _accepted(aws, client, ada, s3, data=PDF):
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    deliver(aws)
    assert RegistrationModel.get(registration_id).cv["status"] == "accepted"
    return key


@pytest.mark.parametrize("reposted", [OTHER_PDF, PNG], ids=["other-pdf", "png"])
def test_a_repost_of_the_form_after_acceptance_is_removed_and_recorded(aws, client, ada, s3, reposted):
    # Given an accepted CV
    _, registration_id = ada
    key = _accepted(aws, client, ada, s3)
    # When the same presigned form is posted again with other bytes
    s3.put_object(Bucket=BUCKET, Key=key, Body=reposted)
    deliver(aws)
    # Then the accepted bytes and hash stay, the re-posted object is gone, and an entry records it
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "accepted" and cv["sha256"] == sha(PDF)
    assert keys(s3) == [cv["stored_key"]]
    assert content(s3, cv["stored_key"]) == PDF
    assert actions(registration_id).count("cv.discarded.reposted") == 1
    assert actions(registration_id).count("cv.accepted") == 1
    assert "cv.rejected" not in actions(registration_id)


def test_a_repost_before_the_first_check_leaves_one_checked_file(aws, client, ada, s3):
    # Given two posts of the same form before any check runs
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    s3.put_object(Bucket=BUCKET, Key=key, Body=OTHER_PDF)
    # When both notifications are handled
    deliver(aws)
    # Then exactly the bytes that were checked are kept, once
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "accepted"
    assert keys(s3) == [cv["stored_key"]]
    assert sha(content(s3, cv["stored_key"])) == cv["sha256"] == sha(OTHER_PDF)
    assert actions(registration_id).count("cv.accepted") == 1


@pytest.mark.parametrize("moment", ["after the read", "after the record"])
def test_a_repost_racing_the_check_never_changes_the_accepted_file(aws, client, ada, s3, monkeypatch, moment):
    # Given an upload, and a re-post of the same form that lands while the check runs
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    reposted = []
    hooked = "fetch" if moment == "after the read" else "put_new"
    real = getattr(files, hooked)

    def repost_meanwhile(*args, **kwargs):
        result = real(*args, **kwargs)
        if not reposted:
            reposted.append(True)
            s3.put_object(Bucket=BUCKET, Key=key, Body=PNG)
        return result

    monkeypatch.setattr(files, hooked, repost_meanwhile)
    # When
    deliver(aws)
    # Then the first post is the accepted one; the re-post is removed and recorded
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "accepted" and cv["sha256"] == sha(PDF)
    assert keys(s3) == [cv["stored_key"]]
    assert content(s3, cv["stored_key"]) == PDF
    assert actions(registration_id).count("cv.discarded.reposted") == 1


def test_objects_under_an_unknown_prefix_are_removed_and_recorded(aws, client, ada, s3, caplog):
    # Given objects no form grants (moto does not enforce the form's key condition)
    for key in ("probe/evil.html", "exchanges/x/evidence.pdf", "probe/ada.rossi@acme.example.pdf"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"<html>hi</html>")
    # When
    deliver(aws)
    # Then
    assert keys(s3) == []
    trail = entries_for("upload#unowned")
    # (an exchange's prefix with no exchange id in it is known, but names no owner)
    assert sorted(e["action"] for e in trail) == [
        "exchange.discarded.no_owner",
        "upload.discarded.unknown_prefix",
        "upload.discarded.unknown_prefix",
    ]
    assert all(e["actor"] == "system:document-check" for e in trail)
    lines = [r for r in caplog.records if r.getMessage() == "upload discarded"]
    assert len(lines) == 3
    logged = json.dumps([r.__dict__ for r in lines], default=str)
    assert "ada.rossi" not in logged and "evil.html" not in logged


def test_an_object_under_the_stored_prefix_stays_only_if_it_is_the_accepted_file(aws, client, ada, s3):
    # Given an accepted CV, whose own stored copy was announced and checked too
    _, registration_id = ada
    _accepted(aws, client, ada, s3)
    stored = RegistrationModel.get(registration_id).cv["stored_key"]
    assert content(s3, stored) == PDF
    # When other bytes appear at the stored key, and a file the registration never had beside it
    forged = f"stored/cv/{registration_id}/{'f' * 32}.pdf"
    s3.put_object(Bucket=BUCKET, Key=stored, Body=OTHER_PDF)
    s3.put_object(Bucket=BUCKET, Key=forged, Body=PDF)
    s3.put_object(Bucket=BUCKET, Key="stored/probe.html", Body=b"<html/>")
    deliver(aws)
    # Then each is removed and recorded
    assert keys(s3) == []
    assert actions(registration_id).count("cv.discarded.not_kept") == 2
    assert [e["action"] for e in entries_for("upload#unowned")] == ["upload.discarded.unknown_prefix"]
    assert RegistrationModel.get(registration_id).cv["sha256"] == sha(PDF)


def test_redelivery_of_every_notification_changes_nothing(aws, client, ada, s3):
    # Given an accepted CV, a re-post of its form, an unknown object, all handled
    _, registration_id = ada
    tok = ada[0]
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    batches = deliver(aws)
    s3.put_object(Bucket=BUCKET, Key=key, Body=OTHER_PDF)
    s3.put_object(Bucket=BUCKET, Key="probe/evil.html", Body=b"x")
    batches += deliver(aws)
    version = RegistrationModel.get(registration_id).version
    trail = actions(registration_id)
    unowned = entries_for("upload#unowned")
    held = keys(s3)
    # When every batch comes again
    for event in batches:
        assert app_module.on_document_uploaded(event, None) == {"batchItemFailures": []}
    # Then
    assert RegistrationModel.get(registration_id).version == version
    assert actions(registration_id) == trail
    assert entries_for("upload#unowned") == unowned
    assert keys(s3) == held
    assert content(s3, RegistrationModel.get(registration_id).cv["stored_key"]) == PDF


def test_a_check_cut_short_after_recording_is_finished_by_the_retry(aws, client, ada, s3, monkeypatch):
    # Given a check that recorded its verdict and failed before keeping the file
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    event = _batch(aws)
    real = files.put_new

    def fails(*args, **kwargs):
        raise RuntimeError("connection reset")

    monkeypatch.setattr(files, "put_new", fails)
    assert app_module.on_document_uploaded(event, None)["batchItemFailures"]
    assert RegistrationModel.get(registration_id).cv["status"] == "accepted"
    monkeypatch.setattr(files, "put_new", real)
    # When the queue delivers the message again
    assert app_module.on_document_uploaded(event, None) == {"batchItemFailures": []}
    deliver(aws)
    # Then
    cv = RegistrationModel.get(registration_id).cv
    assert keys(s3) == [cv["stored_key"]] and content(s3, cv["stored_key"]) == PDF
    assert actions(registration_id).count("cv.accepted") == 1


def test_accepted_bytes_replaced_before_they_were_kept_reject_the_cv(aws, client, ada, s3, monkeypatch):
    # Given a check cut short after recording, and a re-post before the retry
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    event = _batch(aws)
    real = files.put_new

    def fails(*args, **kwargs):
        raise RuntimeError("connection reset")

    monkeypatch.setattr(files, "put_new", fails)
    app_module.on_document_uploaded(event, None)
    monkeypatch.setattr(files, "put_new", real)
    s3.put_object(Bucket=BUCKET, Key=key, Body=OTHER_PDF)
    # ... once the check that recorded the verdict can no longer be running
    monkeypatch.setattr(uploads, "KEEP_WITHIN_SECONDS", 0)
    # When the retry and the re-post's notification run
    assert app_module.on_document_uploaded(event, None) == {"batchItemFailures": []}
    deliver(aws)
    # Then the unchecked bytes are not taken for the accepted ones: the owner must upload again
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "rejected"
    assert cv["reason"] == "replaced before it was kept; upload it again"
    assert keys(s3) == []
    trail = actions(registration_id)
    assert trail.count("cv.discarded.reposted") == 1 and trail[-2:] == [
        "cv.discarded.reposted",
        "cv.rejected",
    ]


def test_a_repost_handled_while_the_accepted_file_is_being_kept_waits_for_it(
    aws, client, ada, s3, monkeypatch
):
    # Given a check that has recorded its verdict and not yet written the stored copy, when a re-post
    # lands and its notice is handled at once
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    first = _batch(aws)
    real = files.put_new
    meanwhile = []

    def repost_handled_first(*args, **kwargs):
        if not meanwhile:
            s3.put_object(Bucket=BUCKET, Key=key, Body=OTHER_PDF)
            meanwhile.append(_batch(aws))
            with pytest.raises(uploads.FileNotKeptYet):  # another container, the re-post's record
                _document_record(SQSRecord(meanwhile[0]["Records"][0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(files, "put_new", repost_handled_first)
    # When
    assert app_module.on_document_uploaded(first, None) == {"batchItemFailures": []}
    # Then the re-post was removed and recorded, and its notice failed, to be retried, rather than
    # declaring the accepted file lost
    assert actions(registration_id).count("cv.discarded.reposted") == 1
    assert app_module.on_document_uploaded(meanwhile[0], None) == {"batchItemFailures": []}
    deliver(aws)
    cv = RegistrationModel.get(registration_id).cv
    assert cv["status"] == "accepted" and cv["sha256"] == sha(PDF)
    assert keys(s3) == [cv["stored_key"]] and content(s3, cv["stored_key"]) == PDF
    assert actions(registration_id).count("cv.discarded.reposted") == 1


def test_a_second_check_running_at_the_same_time_changes_nothing(aws, client, ada, s3, monkeypatch):
    # Given the same notification handled twice at once (a redelivery while the first still runs)
    tok, registration_id = ada
    key = upload_form(client, tok)["key"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=PDF)
    event = _batch(aws)
    real = files.fetch
    nested = []

    def the_other_check_runs_meanwhile(*args, **kwargs):
        result = real(*args, **kwargs)
        if not nested:
            nested.append(True)
            _document_record(SQSRecord(event["Records"][0]))  # another container, the same record
        return result

    monkeypatch.setattr(files, "fetch", the_other_check_runs_meanwhile)
    # When
    assert app_module.on_document_uploaded(event, None) == {"batchItemFailures": []}
    deliver(aws)
    # Then
    cv = RegistrationModel.get(registration_id).cv
    assert keys(s3) == [cv["stored_key"]] and content(s3, cv["stored_key"]) == PDF
    assert actions(registration_id).count("cv.accepted") == 1


def test_the_upload_form_grants_one_new_key_of_one_type_and_size(aws, client, ada):
    tok, registration_id = ada
    # When
    response = client.http.post(
        "/v1/registrations/me/cv",
        headers=auth(tok),
        body=json.dumps({"filename": "cv.pdf", "content_type": "application/pdf", "size": 1000}),
    )
    again = upload_form(client, tok)
    # Then
    form = body(response)
    fields = form["upload"]["fields"]
    assert re.fullmatch(rf"cv/{registration_id}/[0-9a-f]{{32}}\.pdf", fields["key"])
    assert again["key"] != fields["key"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"key": fields["key"]} in policy["conditions"]
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert ["content-length-range", 1, 5 * 1024 * 1024] in policy["conditions"]
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= form["expires_in"] == 900
    assert not fields["key"].startswith(uploads.STORED_PREFIX)


def test_file_types_are_told_from_their_bytes():
    assert uploads.PDF.matches(PDF)
    assert uploads.PNG.matches(PNG)
    assert uploads.JPEG.matches(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    assert not uploads.PDF.matches(b"<html>%PDF-") and not uploads.PDF.matches(b"")
    assert not uploads.JPEG.matches(PNG)


NOT_A_PNG = "not a readable PNG: it does not decode as one"
TOO_MANY_PIXELS = "not a readable PNG: more than 40 million pixels"


@pytest.mark.parametrize(
    ("kind", "data", "verdict"),
    [
        ("cv", sample_files.pdf(), "PDF"),
        ("cv", sample_files.HTML_AS_PDF, "not a readable PDF: it does not open as one"),
        ("cv", sample_files.png(), "not a PDF"),
        ("exchange", sample_files.pdf(), "PDF"),
        ("exchange", sample_files.png(), "PNG"),
        ("exchange", sample_files.jpeg(), "JPEG"),
        ("exchange", sample_files.image("PNG", (2480, 3508)), "PNG"),  # an A4 page at 300 dpi
        ("exchange", sample_files.png_claiming(6000, 6000), "PNG"),  # just under the limit
        ("exchange", sample_files.PNG_THEN_GARBAGE, NOT_A_PNG),
        ("exchange", sample_files.png()[:-20], NOT_A_PNG),
        ("exchange", sample_files.JPEG_THEN_GARBAGE, "not a readable JPEG: it does not decode as one"),
        ("exchange", sample_files.png_claiming(8000, 6000), TOO_MANY_PIXELS),
        ("exchange", sample_files.huge_png_claim(), TOO_MANY_PIXELS),
        ("exchange", sample_files.pdf_without_pages(), "not a readable PDF: it has no pages"),
        ("exchange", b"GIF89a" + b"\x00" * 40, "not a PDF, PNG or JPEG"),
    ],
    ids=[
        "cv-pdf",
        "cv-html-as-pdf",
        "cv-png",
        "pdf",
        "png",
        "jpeg",
        "a4-png",
        "png-under-the-limit",
        "png-then-garbage",
        "truncated-png",
        "jpeg-then-garbage",
        "png-over-the-limit",
        "png-bomb",
        "pdf-without-pages",
        "gif",
    ],
)
def test_a_file_is_the_type_it_opens_as_not_the_type_it_starts_like(kind, data, verdict):
    # One check for every row: the first bytes choose the type, the file must then open as one
    found, reason = uploads.row(kind).rule.judge(FetchedObject("etag", len(data), data))
    assert (found.name if found else reason) == verdict


def test_the_check_loads_its_parsers_only_when_it_checks_a_file():
    # pypdf takes about half a second to import (it brings Pillow and cryptography): a function pays
    # it when it first checks a file, never at import.
    code = (
        "import sys, app, chalicelib.services.uploads\n"
        "print(sorted(m for m in ('pypdf', 'PIL', 'fpdf') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
