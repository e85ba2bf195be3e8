"""The generated agreements: every agreed field is in the PDF's text, the bytes depend only on the
exchange, any Unicode renders, and long texts flow onto further pages."""

from __future__ import annotations

import copy
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from chalicelib import reference
from chalicelib.agreements.render import render_commitment_to_quality, render_financial_agreement
from chalicelib.rules.agreed import agree

ROOT = Path(__file__).resolve().parents[2]
# Where the fixture's organisations are (the registrations' locations when the exchange was validated).
PLACES = {
    "Łódź": (51.77, 19.46),
    "Guimarães": (41.44, -8.29),
    "Porto": (41.15, -8.61),
    "Lisbon": (38.72, -9.14),
}


def agreed_facts(doc: dict[str, Any], visitor: str | None = None, host: str | None = None) -> dict[str, Any]:
    """The facts fixed at validation for `doc`, its parties being where their summaries (or the cities
    named) say."""

    def registration(summary: dict[str, Any], city: str | None, country: str | None) -> dict[str, Any]:
        city = city or summary["city"]
        lat, lon = PLACES[city]
        organisation = {
            "city": city,
            "country": country or summary["country"],
            "location": {"lat": lat, "lon": lon},
        }
        return {"id": summary["registration_id"], "organisation": organisation}

    return agree(
        registration(doc["visitor"], visitor, "PT" if visitor in ("Lisbon", "Porto") else None),
        registration(doc["host"], host, None),
        doc,
    ).as_dict()


def exchange(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": "exc_" + "0123456789abcdef" * 2,
        "reference": "CXC-2027-000123",
        "mode": "physical",
        "start_date": "2027-04-12",
        "end_date": "2027-04-16",
        "travel_days_before": 1,
        "travel_days_after": 2,
        "working_days": 4,
        "skipped_holidays": [
            {"date": "2027-04-13", "name": "Dia da Liberdade"},
            {"date": "2027-04-15", "name": "Feriado municipal de teste"},
        ],
        "objectives": ["technology_uptake", "networking"],
        "activities": ["study_visit", "knowledge_sharing"],
        "activity_plan": [
            {"date": "2027-04-12", "description": "Welcome meeting and tour of the textile lab"},
            {"date": "2027-04-14", "description": "Workshop on recycled fibres with two member companies"},
            {"date": "2027-04-16", "description": "Wrap-up and follow-up plan"},
        ],
        "expected_outcomes": "Two joint project ideas and a shortlist of suppliers of recycled fibres.",
        "responsibilities": {
            "visitor": "Send one engineer for the whole stay and share the results with members.",
            "host": "Provide a desk, a mentor and access to the lab.",
        },
        "visitor": {
            "registration_id": "reg_visitor",
            "organisation_name": "Cluster Tekstylny Łódź",
            "country": "PL",
            "city": "Łódź",
            "representative_name": "Zofia Wójcik-Śliwińska",
        },
        "host": {
            "registration_id": "reg_host",
            "organisation_name": "Têxteis do Norte Lda",
            "country": "PT",
            "city": "Guimarães",
            "representative_name": "João Gonçalves",
        },
        "visitor_partnership": {"id": "clamtex", "name": "CLAMTEX"},
        "host_partnership": {"id": "cloth", "name": "CLOTH"},
        "bank_account": {
            "holder": "Cluster Tekstylny Łódź",
            "iban": "PL61109010140000071219812874",
            "bic": "WBKPPLPP",
        },
        "validated_at": "2027-03-01T10:15:30Z",
        "document_version": 1,
    }
    doc.update(changes)
    doc.setdefault("agreed", agreed_facts(doc))
    return doc


def text_of(pdf: bytes) -> str:
    """The PDF's text with every run of white space made one space."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def pages_of(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_commitment_to_quality_holds_every_agreed_field() -> None:
    exc = exchange()
    pdf = render_commitment_to_quality(exc)
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    expected = [
        "Commitment to Quality",
        exc["reference"],
        "Document version: 1",
        "2027-04-12",
        "2027-04-16",
        "1 before, 2 after",
        "Working days at the host: 4",
        *(f"{h['date']} — {h['name']}" for h in exc["skipped_holidays"]),
        *(reference.objectives()[code] for code in exc["objectives"]),
        *(reference.activities()[code] for code in exc["activities"]),
        *(f"{item['date']}: {item['description']}" for item in exc["activity_plan"]),
        exc["expected_outcomes"],
        exc["responsibilities"]["visitor"],
        exc["responsibilities"]["host"],
        "Cluster Tekstylny Łódź",
        "Têxteis do Norte Lda",
        "CLAMTEX",
        "CLOTH",
        "Zofia Wójcik-Śliwińska",
        "João Gonçalves",
        "Guimarães",
        "Poland (PL)",
        "Portugal (PT)",
        "SHA-256",
        "Visiting organisation (VO): Cluster Tekstylny Łódź",
        "Host organisation (HO): Têxteis do Norte Lda",
        "Visitor's partnership (VOP): CLAMTEX",
        "Host's partnership (HOP): CLOTH",
    ]
    for field in expected:
        assert flat(field) in text, field


def test_financial_agreement_holds_account_rate_and_rule() -> None:
    exc = exchange()
    pdf = render_financial_agreement(exc)
    text = text_of(pdf)
    table = reference.lump_sum_tables()[-1]
    expected = [
        "Financial agreement",
        exc["reference"],
        "Cluster Tekstylny Łódź",
        "CLAMTEX",
        "Account holder: Cluster Tekstylny Łódź",
        "IBAN: PL61 1090 1014 0000 0712 1981 2874",
        "BIC: WBKPPLPP",
        "Host country rate: EUR 780 for Portugal (PT)",
        f"version {table.version}, valid from {table.valid_from.isoformat()}",
        "halved, to EUR 390",
        "fewer than 5 working days",
        "less than 200 km apart",
        "halved once even when both apply",
        "never more than EUR 1,100",
        "within 10 days",
        "Length of the stay: fewer than 5 working days: the rate is halved",
        "First day at the host: 2027-04-12 (Monday)",
        "Visiting organisation (VO): Cluster Tekstylny Łódź",
        "Visitor's partnership (VOP): CLAMTEX",
    ]
    for field in expected:
        assert flat(field) in text, field
    # the host partnership is no party to it
    assert "Host's partnership (HOP)" not in text


def test_financial_agreement_of_a_long_stay_and_of_a_virtual_exchange() -> None:
    long_stay = text_of(render_financial_agreement(exchange(working_days=10, host={**exchange()["host"]})))
    assert "Length of the stay: 5 working days or more: no reduction" in long_stay
    virtual = text_of(render_financial_agreement(exchange(mode="virtual")))
    assert "virtual exchange: no lump sum is due (EUR 0)" in virtual
    assert "halved, to" not in virtual


def test_financial_agreement_without_bank_account_still_renders() -> None:
    text = text_of(render_financial_agreement(exchange(bank_account=None)))
    assert "No bank account has been given yet." in text


def test_financial_agreement_needs_a_table_in_force() -> None:
    with pytest.raises(ValueError, match="No lump-sum table"):
        render_financial_agreement(exchange(start_date="2001-01-01", end_date="2001-01-05"))


@pytest.mark.parametrize("render", [render_commitment_to_quality, render_financial_agreement])
def test_same_exchange_gives_identical_bytes(render: Any) -> None:
    first = render(exchange())
    second = render(copy.deepcopy(exchange()))
    assert first == second
    assert b"/CreationDate (D:20270301101530Z" in first


def test_bytes_do_not_depend_on_the_process() -> None:
    """A fresh interpreter with another hash seed renders the same bytes (no set order, no clock)."""
    code = (
        "import hashlib, sys\n"
        "from tests.unit.test_agreements import exchange\n"
        "from chalicelib.agreements.render import render_commitment_to_quality as c, "
        "render_financial_agreement as f\n"
        "print(hashlib.sha256(c(exchange())).hexdigest(), hashlib.sha256(f(exchange())).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    here = [
        hashlib.sha256(render_commitment_to_quality(exchange())).hexdigest(),
        hashlib.sha256(render_financial_agreement(exchange())).hexdigest(),
    ]
    assert out == here


@pytest.mark.parametrize(
    "change",
    [
        {"document_version": 2},
        {"validated_at": "2027-03-01T10:15:31Z"},
        {"working_days": 5},
        {"expected_outcomes": "One joint project idea."},
        {"visitor": {**exchange()["visitor"], "representative_name": "Anna Nowak"}},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_changed_field_changes_the_bytes(change: dict[str, Any]) -> None:
    assert render_commitment_to_quality(exchange(**change)) != render_commitment_to_quality(exchange())


def test_a_changed_account_changes_the_financial_agreement() -> None:
    other = {"holder": "Cluster Tekstylny Łódź", "iban": "PL27114020040000300201355387", "bic": "BREXPLPW"}
    assert render_financial_agreement(exchange(bank_account=other)) != render_financial_agreement(exchange())


NAMES = {
    "greek": "Ελληνικό Σύμπλεγμα Καινοτομίας — Θεσσαλονίκη",
    "cyrillic": "Кластер інновацій «Київ» / Иновационен клъстер",
    "turkish": "İstanbul Tekstil Kümesi Şirketi — Ğüşöçı",
    "polish": "Zakład Włókienniczy Żółć Łęczyca",
    "romanian": "Clusterul Științific Brașov",
    "czech": "Klastr Ústí nad Labem — Řež",
}


@pytest.mark.parametrize("script", sorted(NAMES))
def test_names_in_any_european_script_survive(script: str) -> None:
    name = NAMES[script]
    visitor = {**exchange()["visitor"], "organisation_name": name, "representative_name": name}
    exc = exchange(visitor=visitor, expected_outcomes=name)
    for render in (render_commitment_to_quality, render_financial_agreement):
        assert name in text_of(render(exc))


def test_characters_outside_the_font_are_replaced_not_fatal() -> None:
    """CJK, a rare emoji sequence, control characters and a lone surrogate: the PDF renders, the rest
    of the text survives and what the font cannot draw becomes U+FFFD."""
    weird = "Start 中文 \U0001fae8\u200d\U0001f9d1 \x00\x07 tab\there \ud800 end"
    exc = exchange(expected_outcomes=weird, responsibilities={"visitor": weird, "host": "ok"})
    text = text_of(render_commitment_to_quality(exc))
    assert "Start" in text
    assert "tab here" in text
    assert "end" in text
    assert "\ufffd" in text
    assert "中" not in text


def test_long_texts_flow_onto_further_pages() -> None:
    words = [f"word{i:04d}" for i in range(560)]
    outcome = " ".join(words)
    assert len(outcome) >= 5000
    unbroken = "x" * 400  # one token wider than the page
    short = render_commitment_to_quality(exchange())
    exc = exchange(
        expected_outcomes=outcome,
        responsibilities={"visitor": unbroken, "host": "Line one\nLine two\r\nLine three"},
    )
    pdf = render_commitment_to_quality(exc)
    assert pages_of(pdf) > pages_of(short)
    text = text_of(pdf)
    positions = [text.find(word) for word in words]
    assert all(p >= 0 for p in positions)
    assert positions == sorted(positions)  # in order across the pages
    assert "Line one Line two Line three" in text
    assert text.count("x") >= 400
    footers = re.findall(r"page (\d+) of (\d+)", text)
    assert [int(n) for n, _ in footers] == list(range(1, pages_of(pdf) + 1))


def test_rendering_does_not_import_fpdf_at_module_import() -> None:
    code = (
        "import sys\n"
        "import chalicelib.agreements.render\n"
        "print('fpdf' in sys.modules, 'fontTools' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_financial_agreement_shows_what_the_money_depends_on_not_the_exact_dates() -> None:
    """An extension of a long stay leaves the financial agreement as it is (VO and VOP need not sign it
    again); one that makes a short stay long, or a new bank account, changes it."""
    from chalicelib.agreements.render import commitment_to_quality_content, financial_agreement_content

    long_stay = exchange(working_days=5)
    extended = exchange(working_days=9, end_date="2027-04-22")
    assert financial_agreement_content(long_stay) == financial_agreement_content(extended)
    assert render_financial_agreement(long_stay) == render_financial_agreement(extended)
    assert commitment_to_quality_content(long_stay) != commitment_to_quality_content(extended)
    short_stay = exchange(working_days=4)
    assert financial_agreement_content(short_stay) != financial_agreement_content(long_stay)
    other_bank = exchange(working_days=5, bank_account={**exchange()["bank_account"], "bic": "PKOPPLPW"})
    assert financial_agreement_content(other_bank) != financial_agreement_content(long_stay)


def test_the_financial_agreement_names_the_agreed_places_and_distance_band() -> None:
    text = text_of(render_financial_agreement(exchange()))
    for field in (
        "Visiting organisation's location: Łódź, Poland (PL)",
        "Host organisation's location: Guimarães, Portugal (PT)",
        "Distance between the organisations: 200 km or more apart: no reduction for the distance",
        "agreed when the exchange was validated",
    ):
        assert flat(field) in text, field
    near = exchange()
    near["agreed"] = agreed_facts(near, visitor="Porto")
    text = text_of(render_financial_agreement(near))
    assert "Visiting organisation's location: Porto, Portugal (PT)" in text
    assert "Distance between the organisations: less than 200 km apart: the rate is halved" in text


def test_the_financial_agreement_shows_the_agreed_place_not_the_one_first_registered() -> None:
    """The parties' summaries are taken when the draft is made; what is signed is what was agreed."""
    moved = exchange()
    moved["agreed"] = agreed_facts(moved, visitor="Lisbon")
    text = text_of(render_financial_agreement(moved))
    assert "Visiting organisation's location: Lisbon, Portugal (PT)" in text
    assert "City: Lisbon" in text and "City: Łódź" not in text


def test_a_change_to_the_agreed_places_asks_vo_and_vop_to_sign_again() -> None:
    from chalicelib.agreements.render import financial_agreement_content

    signed = exchange()
    content = financial_agreement_content(signed)
    for visitor in ("Lisbon", "Porto"):  # another city far away; another city across the 200 km band
        moved = {**signed, "agreed": agreed_facts(signed, visitor=visitor)}
        assert financial_agreement_content(moved) != content, visitor
    # the same city and band a few streets away is the same agreement
    nudged = copy.deepcopy(signed)
    nudged["agreed"]["visitor"]["location"]["lat"] += 0.01
    nudged["agreed"]["distance_km"] += 1.0
    assert financial_agreement_content(nudged) == content


def test_the_financial_agreement_needs_the_agreed_facts() -> None:
    with pytest.raises(ValueError, match="agreed facts"):
        render_financial_agreement(exchange(agreed=None))
