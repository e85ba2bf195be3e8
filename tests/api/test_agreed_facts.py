"""The lump sum depends on what the parties agreed, fixed when the exchange is validated: a visiting
organisation that registers another city afterwards is paid for the stay it signed for. Lille and
Brussels are about 95 km apart (half of Belgium's EUR 830); Lisbon is some 1,700 km from Brussels."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import pytest

from chalicelib.services import reference as reference_service
from chalicelib.store import exchanges as exchange_store
from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration
from tests.api.test_exchange_uploads import form, put
from tests.api.test_exchanges import _ready, _sign, get, patch, post, run_effects
from tests.api.test_finalisation import REPORT, tick_on
from tests.events import test_cv_check
from tests.events.test_cv_check import PDF, deliver
from tests.fakes import fake_clock

s3 = test_cv_check.s3

LILLE = {"city": "Lille", "country": "FR", "location": {"lat": 50.63, "lon": 3.06}}
LISBON = {"city": "Lisbon", "country": "PT", "location": {"lat": 38.72, "lon": -9.14}}


@pytest.fixture
def lille(client, token, aws):
    """An accepted visitor in Lille (clamtex) and host in Brussels (cloth), with an accepted contact
    request."""
    seed_partnerships()
    reference_service.forget_cache()
    fake_clock().set_today(date(2026, 11, 20))
    visitor_data = registration(
        partnership_id="clamtex",
        organisation__name="Lille Textile Lab",
        organisation__country="FR",
        organisation__city="Lille",
        organisation__location=LILLE["location"],
        representative__nationality="FR",
        representative__residence_country="FR",
        representative__email="claire@ltl.example",
    )
    visitor_token = token("claire@ltl.example")
    visitor = body(register(client, visitor_token, visitor_data))
    host_data = registration(
        roles=["host"],
        partnership_id="cloth",
        organisation__name="Brussels Fashion Cluster",
        organisation__country="BE",
        organisation__city="Brussels",
        organisation__location={"lat": 50.85, "lon": 4.35},
        organisation__type="cluster_organisation",
        representative__nationality="BE",
        representative__residence_country="BE",
        representative__email="jan@bfc.example",
    )
    host_token = token("jan@bfc.example")
    host = body(register(client, host_token, host_data))
    vop = token("officer@clamtex.example", "partnership", "clamtex")
    hop = token("officer@cloth.example", "partnership", "cloth")
    assert decide(client, vop, visitor["id"], "accept").status_code == 200
    assert decide(client, hop, host["id"], "accept").status_code == 200
    message = json.dumps({"to": host["id"], "message": "Hi"})
    sent = client.http.post("/v1/contact-requests", headers=auth(visitor_token), body=message)
    request_id = body(sent)["id"]
    accepted = client.http.post(f"/v1/contact-requests/{request_id}/accept", headers=auth(host_token))
    assert accepted.status_code == 200
    yield SimpleNamespace(
        visitor=visitor_token,
        host=host_token,
        vop=vop,
        hop=hop,
        request_id=request_id,
        host_id=host["id"],
        visitor_id=visitor["id"],
    )
    reference_service.forget_cache()


def _moves_to_lisbon(client, who):
    moved = patch(client, "/v1/registrations/me", who, {"organisation": LISBON})
    assert moved.status_code == 200, moved.body
    assert body(moved)["organisation"]["city"] == "Lisbon"


def test_a_visitor_that_moves_after_signing_is_paid_for_the_distance_it_agreed(client, lille, aws, s3):
    # Given a Lille-Brussels exchange, validated and signed by all (12-16 April 2027)
    path = _ready(client, lille, aws)
    # When the visiting organisation registers Lisbon as its city afterwards
    _moves_to_lisbon(client, lille.visitor)
    # And the stay, the evidence and the report follow, and the VOP approves
    tick_on("2027-04-12")
    tick_on("2027-04-17")
    put(s3, form(client, path, lille.visitor, kind="evidence", document=None), PDF)
    deliver(aws)
    assert body(post(client, f"{path}/closing-report", lille.visitor, REPORT))["status"] == "report_submitted"
    approved = post(client, f"{path}/closing-report/decision", lille.vop, {"decision": "approve"})
    assert approved.status_code == 200, approved.body
    run_effects(aws)
    # Then the lump sum is the agreed one: Belgium's rate, halved for the 95 km between Lille and Brussels
    payment = body(get(client, f"{path}/payment", lille.visitor))
    assert (payment["status"], payment["amount_eur"]) == ("calculated", 415)
    assert [r["code"] for r in payment["breakdown"]["reductions"]] == ["NEARBY"]
    assert 80 < payment["breakdown"]["distance_km"] < 110


def test_an_extension_amends_the_agreed_dates_and_keeps_the_agreed_places(client, lille, aws):
    # Given a ready exchange whose visitor moved to Lisbon after signing
    path = _ready(client, lille, aws)
    exchange_id = path.rsplit("/", 1)[1]
    signed = exchange_store.get(exchange_id)["agreed"]
    _moves_to_lisbon(client, lille.visitor)
    # When the VOP grants a week more
    asked = post(client, f"{path}/extension", lille.visitor, {"end_date": "2027-04-23", "reason": "Pilot"})
    assert asked.status_code == 200, asked.body
    granted = body(post(client, f"{path}/extension/decision", lille.vop, {"decision": "grant"}))
    assert granted["status"] == "validated"
    run_effects(aws)
    # Then the agreed facts carry the new dates and the places that were signed for
    amended = exchange_store.get(exchange_id)["agreed"]
    assert (amended["end_date"], amended["working_days"]) == ("2027-04-23", 10)
    assert amended["visitor"] == signed["visitor"] == LILLE
    assert amended["distance_km"] == signed["distance_km"]
    # And the financial agreement, which shows them, keeps its signed version: only the Commitment to
    # Quality is signed again before the exchange is ready
    documents = body(get(client, f"{path}/documents", lille.vop))["items"]
    assert [(d["kind"], d["version"], d["current"]) for d in documents] == [
        ("commitment_to_quality", 1, False),
        ("commitment_to_quality", 2, True),
        ("financial_agreement", 1, True),
    ]
    signers = (lille.visitor, lille.host, lille.vop, lille.hop)
    assert _sign(client, path, signers, "commitment_to_quality")[-1]["status"] == "ready"


def test_a_move_before_validation_is_what_is_agreed(client, lille, aws):
    # Given the visitor moves to Lisbon while the exchange is still a draft
    from tests.api.test_exchanges import _validated

    _moves_to_lisbon(client, lille.visitor)
    # When both partnerships validate it
    path = _validated(client, lille)
    # Then Lisbon is agreed, and the financial agreement names it and the distance band
    agreed = exchange_store.get(path.rsplit("/", 1)[1])["agreed"]
    assert (agreed["visitor"]["city"], agreed["visitor"]["country"], agreed["host"]["city"]) == (
        "Lisbon",
        "PT",
        "Brussels",
    )
    assert agreed["distance_km"] > 1500
    run_effects(aws)
    text = _financial_agreement_text(client, path, lille.vop)
    assert "Lisbon, Portugal (PT)" in text and "Brussels, Belgium (BE)" in text
    assert "200 km or more apart" in text


def _financial_agreement_text(client, path, who) -> str:
    import io
    import urllib.parse

    import boto3
    from pypdf import PdfReader

    link = body(get(client, f"{path}/documents/financial_agreement", who))
    key = urllib.parse.unquote(urllib.parse.urlparse(link["url"]).path).lstrip("/")
    key = key.removeprefix("cxc-test-artifacts/")
    pdf = boto3.client("s3", region_name="eu-west-1").get_object(Bucket="cxc-test-artifacts", Key=key)["Body"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read())).pages)
    return " ".join(text.split())
