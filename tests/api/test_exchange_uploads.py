"""An exchange's uploads through the emulator's S3 and queue: a signed scan counts as its party's
signature once the check accepts it; an executable renamed .pdf is removed and recorded rejected; the
host side never gets the financial agreement (it names the VO's bank account)."""

from __future__ import annotations

import json

import pytest

from tests import sample_files
from tests.api import test_exchanges
from tests.api.helpers import body
from tests.api.test_exchanges import _sign, _validated, get, post, run_effects
from tests.events import test_cv_check
from tests.events.test_cv_check import BUCKET, PDF, PNG, deliver, keys

# Fixtures: an accepted visitor and host with an accepted contact request, and an S3 client.
pair = test_exchanges.pair
s3 = test_cv_check.s3

EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def form(client, path, tok, kind="signed_scan", document="commitment_to_quality", **changes):
    payload = {"kind": kind, "filename": "signed.pdf", "content_type": "application/pdf", "size": 2000}
    if document:
        payload["document"] = document
    return post(client, f"{path}/uploads", tok, {**payload, **changes})


def put(s3, response, data):
    """What a browser does with the form: the key the server chose, these bytes."""
    assert response.status_code == 200, response.body
    granted = body(response)
    s3.put_object(Bucket=BUCKET, Key=granted["upload"]["fields"]["key"], Body=data)
    return granted["id"]


def uploads_of(client, path, tok):
    return [d for d in body(get(client, f"{path}/documents", tok))["items"] if d.get("id")]


def test_a_signed_scan_counts_as_its_partys_signature_once_accepted(client, pair, aws, s3):
    # Given a validated exchange with its agreements
    path = _validated(client, pair)
    run_effects(aws)
    # When the HOP uploads a scan of the Commitment to Quality signed on paper, and it is checked
    upload_id = put(s3, form(client, path, pair.hop), PDF)
    assert body(get(client, path, pair.hop))["confirmations"] == {}  # not before the check
    deliver(aws)
    # Then the scan is accepted and is the HOP's signature on the current version
    [scan] = uploads_of(client, path, pair.vop)
    assert (scan["id"], scan["status"], scan["counted"], scan["document"]) == (
        upload_id,
        "accepted",
        True,
        "commitment_to_quality",
    )
    ctq = body(get(client, f"{path}/documents", pair.vop))["items"][0]
    assert [(s["party"], s["scan"]) for s in ctq["signatures"]] == [("HOP", upload_id)]
    assert body(get(client, path, pair.vop))["confirmations"] == {"sign_commitment_to_quality": ["HOP"]}
    # And the three others signing in the tool complete it
    statuses = [
        e["status"] for e in _sign(client, path, (pair.visitor, pair.host, pair.vop), "commitment_to_quality")
    ]
    assert statuses[-1] == "signed"
    # And the stored scan can be fetched by a party, with the hash that was recorded
    link = body(get(client, f"{path}/documents/signed_scan?id={upload_id}", pair.host))
    assert link["sha256"] == scan["sha256"] and link["expires_in"] > 0
    assert keys(s3, "exchanges/") == []  # the upload itself is gone; the checked bytes are stored


@pytest.mark.parametrize("data", [EXECUTABLE, b"GIF89a" + b"\x00" * 40], ids=["exe-named-pdf", "gif"])
def test_a_file_that_is_not_pdf_png_or_jpeg_is_removed_and_rejected(client, pair, aws, s3, data):
    path = _validated(client, pair)
    run_effects(aws)
    put(s3, form(client, path, pair.visitor), data)
    deliver(aws)
    [scan] = uploads_of(client, path, pair.visitor)
    assert scan["status"] == "rejected" and "PDF, PNG or JPEG" in scan["reason"]
    assert keys(s3, "exchanges/") == [] and keys(s3, "stored/exchanges/") == []
    assert body(get(client, path, pair.visitor))["confirmations"] == {}
    missing = get(client, f"{path}/documents/signed_scan", pair.visitor)
    assert missing.status_code == 404


def test_each_file_is_accepted_only_if_it_opens_as_what_it_starts_like(client, pair, aws, s3):
    # Given a validated exchange, and the visitor's scans of every shape
    path = _validated(client, pair)
    run_effects(aws)
    sent = {
        "pdf": ("application/pdf", sample_files.pdf(), "accepted"),
        "png": ("image/png", sample_files.png(), "accepted"),
        "jpeg": ("image/jpeg", sample_files.jpeg(), "accepted"),
        "html-as-pdf": ("application/pdf", sample_files.HTML_AS_PDF, "not a readable PDF"),
        "truncated-pdf": ("application/pdf", PDF[:-300], "not a readable PDF"),
        "png-then-garbage": ("image/png", sample_files.PNG_THEN_GARBAGE, "not a readable PNG"),
        "jpeg-then-garbage": ("image/jpeg", sample_files.JPEG_THEN_GARBAGE, "not a readable JPEG"),
        "png-bomb": ("image/png", sample_files.huge_png_claim(), "more than 40 million pixels"),
    }
    ids = {
        name: put(s3, form(client, path, pair.visitor, content_type=content_type, size=len(data)), data)
        for name, (content_type, data, _) in sent.items()
    }
    # When every upload is checked
    deliver(aws)
    # Then those that open are kept; each of the others is removed and rejected with its reason
    found = {scan["id"]: scan for scan in uploads_of(client, path, pair.visitor)}
    for name, (_, _, expected) in sent.items():
        scan = found[ids[name]]
        if expected == "accepted":
            assert scan["status"] == "accepted", (name, scan)
        else:
            assert scan["status"] == "rejected" and expected in scan["reason"], (name, scan)
    assert keys(s3, "exchanges/") == []
    assert len(keys(s3, "stored/exchanges/")) == 3
    # And only the first accepted scan is the visitor's signature
    assert body(get(client, path, pair.vop))["confirmations"] == {"sign_commitment_to_quality": ["VO"]}


def test_a_scan_that_arrives_after_the_exchange_moved_on_is_kept_but_not_counted(client, pair, aws, s3):
    # Given a form for the host's scan, and then the HOP declines to sign (back to the participants)
    path = _validated(client, pair)
    run_effects(aws)
    granted = form(client, path, pair.host)
    declined = post(
        client,
        f"{path}/signatures/decline",
        pair.hop,
        {"document": "commitment_to_quality", "reason": "Mentor missing"},
    )
    assert declined.status_code == 200
    # When the scan arrives
    put(s3, granted, PNG)
    deliver(aws)
    # Then it is accepted as a file but is nobody's signature
    [scan] = uploads_of(client, path, pair.host)
    assert (scan["status"], scan["counted"]) == ("accepted", False)
    assert "changed" in scan["reason"]
    ctq = body(get(client, f"{path}/documents", pair.vop))["items"][0]
    assert ctq["signatures"] == []


def test_the_host_side_never_gets_the_financial_agreement(client, pair, aws):
    path = _validated(client, pair)
    run_effects(aws)
    _sign(client, path, (pair.visitor, pair.host, pair.vop, pair.hop), "commitment_to_quality")
    for who in (pair.host, pair.hop):
        refused = get(client, f"{path}/documents/financial_agreement", who)
        assert refused.status_code == 403, refused.body
        # nor sends a scan of it: it is not the host side's to sign
        assert form(client, path, who, document="financial_agreement").status_code == 403
    for who in (pair.visitor, pair.vop):
        assert get(client, f"{path}/documents/financial_agreement", who).status_code == 200


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"document": None}, 422, "DOCUMENT_REQUIRED"),  # a rule of the kind: the body is well formed
        ({"content_type": "text/html"}, 422, "UNSUPPORTED_FILE_TYPE"),
        ({"size": 10 * 1024 * 1024 + 1}, 413, "FILE_TOO_LARGE"),
        ({"kind": "evidence", "document": None}, 409, "INVALID_STATUS"),
        ({"document": "financial_agreement"}, 409, "INVALID_STATUS"),
    ],
    ids=["scan-names-no-document", "html", "too-large", "evidence-before-the-stay", "fa-before-ctq"],
)
def test_upload_requests_are_refused_clearly(client, pair, aws, changes, status, code):
    path = _validated(client, pair)
    run_effects(aws)
    refused = form(client, path, pair.visitor, **changes)
    assert refused.status_code == status, refused.body
    assert body(refused)["error"]["code"] == code
    assert json.dumps(body(refused))  # a JSON error body, never a 500
