"""The exchanges export over HTTP: who gets which exchanges, the columns asked for, the CSV read back
with Python's csv module (formula injection neutralised), a paid exchange's amount and paid date, and a
large export written to S3 and downloaded through its presigned link."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime

import pytest
import requests

from chalicelib.settings import get_settings
from tests.api import test_exchanges, test_finalisation
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration
from tests.api.test_exchanges import draft, get, post
from tests.api.test_finalisation import deliver_payments
from tests.events.helpers import run_effects
from tests.fakes import fake_clock

pair = test_exchanges.pair  # an accepted visitor (Acme IoT, IT, epix) and host (Berlin, DE, ce4big)
s3 = test_finalisation.s3
PATH = "/v1/exports/exchanges.csv"
ORIGIN = "http://localhost:3000"


def export(client, tok, query="", headers=None):
    return client.http.get(PATH + query, headers={**auth(tok), **(headers or {})})


def table(response) -> list[dict[str, str]]:
    """The CSV answer as rows, read with Python's csv module."""
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = response.body.decode("utf-8-sig")  # a spreadsheet's UTF-8 mark first
    return list(csv.DictReader(io.StringIO(text, newline="")))


def another_host(client, token, officer, name, partnership_id="ce4big", country="DE"):
    """A second accepted host, named as the test wants, and its token."""
    email = "host-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + "@host.example"
    host_token = token(email)
    data = registration(
        roles=["host"],
        partnership_id=partnership_id,
        organisation__name=name,
        organisation__country=country,
        organisation__city="Berlin",
        organisation__location={"lat": 52.52, "lon": 13.40},
        organisation__type="cluster_organisation",
        representative__nationality=country,
        representative__email=email,
    )
    created = body(register(client, host_token, data))
    assert decide(client, officer, created["id"], "accept").status_code == 200
    return created["id"], host_token


def contact(client, visitor, host_id, host_token):
    """An accepted contact request from the visitor to this host."""
    sent = body(post(client, "/v1/contact-requests", visitor, {"to": host_id, "message": "Hi"}))
    assert post(client, f"/v1/contact-requests/{sent['id']}/accept", host_token).status_code == 200
    return sent["id"]


def exchange(client, visitor, request_id):
    created = post(client, "/v1/exchanges", visitor, draft(request_id))
    assert created.status_code == 201, created.body
    return body(created)


def test_an_admin_exports_every_exchange_and_a_partnership_those_it_is_vop_or_hop_of(client, pair, token):
    # Given an exchange of epix (VOP) at ce4big (HOP), and one where epix is both VOP and HOP
    first = exchange(client, pair.visitor, pair.request_id)
    home_id, home_token = another_host(
        client, token, pair.vop, "Tallinn Smart Hub", partnership_id="epix", country="EE"
    )
    second = exchange(client, pair.visitor, contact(client, pair.visitor, home_id, home_token))
    admin = token("admin@clusterxchange.example", "admin")
    clamtex = token("officer@clamtex.example", "partnership", "clamtex")
    # When each exports
    everything = table(export(client, admin))
    epix = table(export(client, pair.vop))
    ce4big = table(export(client, pair.hop))
    # Then the admin gets both, by reference; epix both, each once; ce4big the one it hosts; clamtex none
    references = sorted([first["reference"], second["reference"]])
    assert [row["reference"] for row in everything] == references
    assert [row["reference"] for row in epix] == references
    assert [row["reference"] for row in ce4big] == [first["reference"]]
    assert table(export(client, clamtex)) == []
    row = everything[0]
    assert row == {
        "reference": first["reference"],
        "status": "draft",
        "visitor_organisation": "Acme IoT",
        "visitor_country": "IT",
        "host_organisation": "Berlin Digital Cluster",
        "host_country": "DE",
        "visitor_partnership": first["visitor_partnership"]["name"],
        "host_partnership": first["host_partnership"]["name"],
        "start_date": "2027-04-12",
        "end_date": "2027-04-16",
        "working_days": "5",
        "amount_eur": "",
        "paid_at": "",
    }


def test_the_file_is_named_for_a_download_which_a_browser_on_the_web_app_may_read(client, pair):
    # Given an officer's browser on the web app's origin
    fake_clock().set_today(date(2026, 11, 20))
    # When it asks for the export
    response = export(client, pair.vop, headers={"Origin": ORIGIN})
    # Then the answer is a CSV file to save, whose name the browser may read, never cached
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="exchanges-epix-2026-11-20.csv"'
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    exposed = response.headers["Access-Control-Expose-Headers"].split(",")
    assert {"Content-Disposition", "X-Request-Id"} <= set(exposed)
    assert response.headers["Cache-Control"] == "no-store"
    assert response.body.decode("utf-8-sig").splitlines()[0].startswith("reference,status,")


def test_cells_a_spreadsheet_would_run_are_neutralised_and_read_back_as_text(client, pair, token):
    # Given a host named to inject a formula, and a visitor whose name starts with @
    host_id, host_token = another_host(client, token, pair.hop, '=HYPERLINK("http://x")')
    assert (
        client.http.patch(
            "/v1/registrations/me",
            headers=auth(pair.visitor),
            body=json.dumps({"organisation": {"name": "@SUM(1+1)"}}),
        ).status_code
        == 200
    )
    exchange(client, pair.visitor, contact(client, pair.visitor, host_id, host_token))
    # When the HOP exports its exchanges
    [row] = table(export(client, pair.hop, "?columns=host_organisation,visitor_organisation,working_days"))
    # Then each such cell starts with a quote (shown as text, never evaluated); numbers are left alone
    assert row == {
        "host_organisation": '\'=HYPERLINK("http://x")',
        "visitor_organisation": "'@SUM(1+1)",
        "working_days": "5",
    }


def test_columns_are_chosen_and_ordered_and_unknown_ones_are_named(client, pair):
    exchange(client, pair.visitor, pair.request_id)
    # When the officer asks for two columns, in its order (spaces and a repeat allowed)
    chosen = export(client, pair.vop, "?columns=amount_eur,%20reference,amount_eur")
    # Then
    text = chosen.body.decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text))) == ["amount_eur", "reference"]
    # And unknown columns are a 400 naming each
    refused = export(client, pair.vop, "?columns=reference,iban,visitor_email")
    assert refused.status_code == 400
    [detail] = body(refused)["error"]["details"]
    assert detail["field"] == "columns"
    assert "'iban'" in detail["message"] and "'visitor_email'" in detail["message"]
    assert export(client, pair.vop, "?columns=").status_code == 400


@pytest.mark.parametrize(
    ("caller", "partnership"),
    [("participant", None), ("support", None), ("finance", None), ("partnership", None)],
)
def test_only_admins_and_partnership_officers_export(client, pair, token, caller, partnership):
    # A partnership token that names no partnership has no exchanges of its own to export
    refused = export(client, token(f"{caller}@clusterxchange.example", caller, partnership))
    assert refused.status_code == 403 and body(refused)["error"]["code"] == "FORBIDDEN"


def test_a_paid_exchange_shows_its_amount_and_paid_date(client, pair, aws, s3, token):
    # Given an exchange paid by finance
    path = test_finalisation._approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    payment = body(get(client, f"{path}/payment", pair.vop))
    finance = token("clerk@epix.example", "finance", "epix")
    confirm = {"bank_reference": "BANK-REF-1", "paid_at": "2027-04-20"}
    fake_clock().set_today(date(2027, 4, 21))
    assert post(client, f"/v1/payments/{payment['id']}/confirm", finance, confirm).status_code == 200
    # When its VOP exports it
    [row] = table(export(client, pair.vop, "?columns=reference,status,amount_eur,paid_at,working_days"))
    # Then
    assert row == {
        "reference": payment["reference"],
        "status": "paid",
        "amount_eur": str(payment["amount_eur"]),
        "paid_at": "2027-04-20",
        "working_days": "5",
    }


def test_a_large_export_is_written_to_s3_and_downloaded_through_its_link(client, pair, token, monkeypatch):
    # Given two exchanges, and exports above one row no longer inline
    first = exchange(client, pair.visitor, pair.request_id)
    host_id, host_token = another_host(client, token, pair.hop, "@Lyon Textile")
    second = exchange(client, pair.visitor, contact(client, pair.visitor, host_id, host_token))
    monkeypatch.setenv("CXC_EXPORT_INLINE_ROWS", "1")
    get_settings.cache_clear()
    # When the VOP exports them
    response = export(client, pair.vop)
    # Then it is answered with a short-lived link, as JSON
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    link = body(response)
    assert link["rows"] == 2
    assert datetime.fromisoformat(link["expires_at"]) > datetime.now(UTC)
    assert f"/{get_settings().exports_prefix}" in link["url"]
    # And the file behind it is the CSV, to save under its name, neutralised like an inline one
    downloaded = requests.get(link["url"], timeout=10)
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert downloaded.headers["Content-Disposition"].startswith('attachment; filename="exchanges-epix-')
    rows = list(csv.DictReader(io.StringIO(downloaded.content.decode("utf-8-sig"), newline="")))
    assert sorted(r["reference"] for r in rows) == sorted([first["reference"], second["reference"]])
    assert {r["host_organisation"] for r in rows} == {"Berlin Digital Cluster", "'@Lyon Textile"}
    # And a bound in bytes sends an export there too
    monkeypatch.setenv("CXC_EXPORT_INLINE_ROWS", "1000")
    monkeypatch.setenv("CXC_EXPORT_INLINE_BYTES", "100")
    get_settings.cache_clear()
    assert body(export(client, pair.vop))["rows"] == 2
