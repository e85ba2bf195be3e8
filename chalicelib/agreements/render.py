"""The exchange's two generated agreements as PDF bytes: the Commitment to Quality (signed by VO, HO,
VOP and HOP) and the financial agreement (VO and VOP).

Pure: the only input is the exchange document (and the reference data and fonts shipped in the
package); nothing is read from AWS or the clock. Deterministic: the PDF's creation date is the
exchange's `validated_at` and fpdf2's file identifier is a hash of the content, so the same exchange
gives byte-identical files and the SHA-256 the parties sign stays stable. fpdf2 is imported inside
the render functions: it costs about 0.3 s to import, paid only by the code that renders.

Font: DejaVu Sans 2.37 (regular and bold) is embedded beside this module, in `fonts/`, with its
licence (Bitstream Vera licence; DejaVu changes in the public domain: redistribution is free when the
licence goes along). fpdf2's core fonts are Latin-1 only, and the API accepts any Unicode, so a TrueType
font is needed; DejaVu Sans covers Latin with all its European extensions (Polish, Turkish, Romanian,
Czech...), Greek, Cyrillic and Armenian, which are the scripts of the programme's countries. The
Lambda package cannot rely on system fonts, and no well-kept PyPI package ships DejaVu alone (the
packages that do either pull in a whole typesetting system or are a plotting library), so the two files
(1.4 MB) are shipped with the code; fpdf2 embeds only the glyphs a document uses (a subset), so a PDF
stays small. Characters the font lacks (emoji, CJK, control characters) are replaced by U+FFFD, the
replacement character, rather than transliterated: nothing is silently changed into other letters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib import reference
from chalicelib.rules import RuleViolation
from chalicelib.rules.agreed import AgreedFacts, AgreedPlace
from chalicelib.rules.distance import NEARBY_KM
from chalicelib.rules.lump_sum import PAYMENT_DAYS, SHORT_STAY_WORKING_DAYS, short_stay, table_in_force

if TYPE_CHECKING:  # pragma: no cover - only for the annotations
    from fpdf import FPDF

_FONT_DIR = Path(__file__).parent / "fonts"
_FAMILY = "DejaVuSans"
_REPLACEMENT = "\ufffd"

_HALVING_WORKING_DAYS = SHORT_STAY_WORKING_DAYS
_HALVING_DISTANCE_KM = NEARBY_KM
_PAYMENT_DAYS = PAYMENT_DAYS

_ROLE_NAMES = {
    "VO": "Visiting organisation (VO)",
    "HO": "Host organisation (HO)",
    "VOP": "Visitor's partnership (VOP)",
    "HOP": "Host's partnership (HOP)",
}


# --- text -------------------------------------------------------------------------------------------


@cache
def _font_codepoints() -> frozenset[int]:
    """The code points both embedded faces can draw (read once with fontTools, which fpdf2 brings)."""
    from fontTools.ttLib import TTFont  # heavy: only when rendering

    covered: frozenset[int] | None = None
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"):
        font = TTFont(_FONT_DIR / name, lazy=True)
        points = frozenset(font.getBestCmap())
        font.close()
        covered = points if covered is None else covered & points
    return covered or frozenset()


def _text(value: Any) -> str:
    """Any value as text the embedded font can draw: NFC, newlines kept, tabs as spaces, other control
    characters dropped, and characters outside the font replaced by U+FFFD."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    covered = _font_codepoints()
    out = []
    for char in text:
        if char == "\n":
            out.append(char)
        elif unicodedata.category(char) in ("Cc", "Cs"):
            continue
        elif ord(char) in covered:
            out.append(char)
        elif unicodedata.category(char) in ("Cf", "Mn", "Me"):
            continue  # invisible joiners, selectors and marks left over after NFC: nothing to draw
        elif not out or out[-1] != _REPLACEMENT:
            out.append(_REPLACEMENT)  # one mark per run (an emoji sequence is one replacement)
    return "".join(out)


def _iso_date(value: Any) -> str:
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return _text(value)
    return f"{day.isoformat()} ({day.strftime('%A')})"


def _creation_date(exchange: Mapping[str, Any]) -> datetime:
    moment = datetime.fromisoformat(str(exchange["validated_at"]).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def _country(code: Any) -> str:
    country = reference.countries().get(str(code))
    return f"{country.name} ({country.code})" if country else _text(code)


def _eur(amount: int) -> str:
    return f"EUR {amount:,}"


def _grouped_iban(iban: Any) -> str:
    compact = "".join(str(iban or "").split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --- layout -----------------------------------------------------------------------------------------


class _Doc:
    """A thin writer over fpdf2: headings, labelled fields, paragraphs and bullets that wrap and flow
    onto new pages, and a footer naming the document on every page."""

    LINE = 5.2
    SIZE = 10

    def __init__(self, title: str, exchange: Mapping[str, Any]) -> None:
        from fpdf import FPDF  # heavy: only when rendering

        footer = _text(
            f"{exchange.get('reference', '')} · {title} · version {exchange.get('document_version', 1)}"
        )

        class _Pdf(FPDF):
            def footer(self) -> None:
                self.set_y(-14)
                self.set_font(_FAMILY, size=8)
                self.set_text_color(90)
                self.cell(0, 5, f"{footer} · page {self.page_no()} of {{nb}}", align="C")
                self.set_text_color(0)

        pdf = _Pdf(orientation="P", unit="mm", format="A4")
        pdf.set_margins(20, 18, 20)
        pdf.set_auto_page_break(auto=True, margin=20)
        pdf.add_font(_FAMILY, "", _FONT_DIR / "DejaVuSans.ttf")
        pdf.add_font(_FAMILY, "B", _FONT_DIR / "DejaVuSans-Bold.ttf")
        pdf.set_creation_date(_creation_date(exchange))
        pdf.set_title(_text(f"{title} {exchange.get('reference', '')}"))
        pdf.set_subject(_text(f"ClusterXchange exchange {exchange.get('id', '')}"))
        pdf.set_author("ClusterXchange")
        pdf.set_creator("ClusterXchange")
        pdf.set_lang("en")
        pdf.add_page()
        self.pdf: FPDF = pdf
        self.exchange = exchange
        self.title(title)

    def title(self, title: str) -> None:
        pdf = self.pdf
        pdf.set_font(_FAMILY, "B", 16)
        pdf.multi_cell(0, 8, _text(f"ClusterXchange — {title}"), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        exchange = self.exchange
        self.field("Reference", exchange.get("reference"))
        self.field("Document version", exchange.get("document_version", 1))
        self.field("Exchange", exchange.get("id"))
        self.field("Validated at", _creation_date(exchange).strftime("%Y-%m-%d %H:%M:%S UTC"))

    def heading(self, text: str) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.page_break_trigger - 3 * self.LINE:
            pdf.add_page()  # no heading alone at the foot of a page
        pdf.ln(3)
        pdf.set_font(_FAMILY, "B", 12)
        pdf.multi_cell(0, 6.5, _text(text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.5)

    def field(self, label: str, value: Any) -> None:
        """`Label: value` as one flowing paragraph (a long value wraps under the label)."""
        pdf = self.pdf
        pdf.set_x(pdf.l_margin)
        pdf.set_font(_FAMILY, "B", self.SIZE)
        pdf.write(self.LINE, _text(f"{label}: "))
        pdf.set_font(_FAMILY, "", self.SIZE)
        pdf.write(self.LINE, _text(value) or "—")
        pdf.ln(self.LINE)

    def paragraph(self, text: Any, *, bold: bool = False) -> None:
        pdf = self.pdf
        pdf.set_font(_FAMILY, "B" if bold else "", self.SIZE)
        pdf.multi_cell(0, self.LINE, _text(text) or "—", align="L", new_x="LMARGIN", new_y="NEXT")

    def bullets(self, items: Iterable[Any], *, empty: str = "None.") -> None:
        pdf = self.pdf
        lines = [_text(item) for item in items]
        if not lines:
            self.paragraph(empty)
            return
        pdf.set_font(_FAMILY, "", self.SIZE)
        for line in lines:
            pdf.set_x(pdf.l_margin)
            pdf.cell(6, self.LINE, "•")
            pdf.multi_cell(0, self.LINE, line or "—", align="L", new_x="LMARGIN", new_y="NEXT")

    def signatures(self, statement: str, parties: Iterable[tuple[str, str | None, str | None]]) -> None:
        """The statement, then one block per party: role, organisation (none known: left blank, never
        "None"), and lines to fill in."""
        self.heading("Signatures")
        self.paragraph(statement)
        pdf = self.pdf
        block = 4 * self.LINE + 16
        for role, organisation, representative in parties:
            if pdf.get_y() + block > pdf.page_break_trigger:
                pdf.add_page()
            pdf.ln(3)
            pdf.set_font(_FAMILY, "B", self.SIZE)
            pdf.multi_cell(
                0, self.LINE, _text(f"{role}: {organisation or ''}"), align="L", new_x="LMARGIN", new_y="NEXT"
            )
            pdf.set_font(_FAMILY, "", self.SIZE)
            if representative:
                self.field("Representative", representative)
            for label in ("Name and position", "Date", "Signature"):
                pdf.set_x(pdf.l_margin)
                pdf.cell(40, 7, label, new_x="RIGHT", new_y="TOP")
                y = pdf.get_y() + 6
                pdf.line(pdf.get_x(), y, pdf.w - pdf.r_margin, y)
                pdf.ln(7)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _party(doc: _Doc, role: str, organisation: Mapping[str, Any]) -> None:
    doc.paragraph(_ROLE_NAMES[role], bold=True)
    doc.field("Organisation", organisation.get("organisation_name"))
    doc.field("Country", _country(organisation.get("country")))
    doc.field("City", organisation.get("city"))
    doc.field("Representative", organisation.get("representative_name"))
    doc.field("Registration", organisation.get("registration_id"))
    doc.pdf.ln(1.5)


def _partnership(doc: _Doc, role: str, partnership: Mapping[str, Any]) -> None:
    doc.paragraph(_ROLE_NAMES[role], bold=True)
    doc.field("Partnership", partnership.get("name"))
    doc.field("Identifier", partnership.get("id"))
    doc.pdf.ln(1.5)


def _dates(doc: _Doc, exchange: Mapping[str, Any]) -> None:
    mode = str(exchange.get("mode", "physical"))
    doc.field("Mode", "virtual exchange" if mode == "virtual" else "physical exchange (stay at the host)")
    doc.field("First day at the host", _iso_date(exchange.get("start_date")))
    doc.field("Last day at the host", _iso_date(exchange.get("end_date")))
    before = int(exchange.get("travel_days_before") or 0)
    after = int(exchange.get("travel_days_after") or 0)
    doc.field("Travel days", f"{before} before, {after} after (not counted as working days)")
    doc.field("Working days at the host", int(exchange.get("working_days") or 0))


def _code_names(codes: Iterable[Any], names: Mapping[str, str]) -> list[str]:
    return [names.get(str(code), str(code)) for code in codes]


# --- documents --------------------------------------------------------------------------------------


# What each document shows of the exchange, besides its reference, version and date: a new version is
# made only when this changes, and the listing names the fields that did.
def commitment_to_quality_content(exchange: Mapping[str, Any]) -> dict[str, Any]:
    return {field: exchange.get(field) for field in _CTQ_FIELDS}


def financial_agreement_content(exchange: Mapping[str, Any]) -> dict[str, Any]:
    # The money's facts as agreed, to the precision the amount depends on: a city moved across the
    # 200 km band, or to another city, is a new agreement to sign; the same city a street away is not.
    agreed = _agreed(exchange)
    return {
        "visitor": exchange.get("visitor"),
        "visitor_partnership": exchange.get("visitor_partnership"),
        "host": exchange.get("host"),
        "visitor_place": _place_content(agreed.visitor),
        "host_place": _place_content(agreed.host),
        "nearby": agreed.nearby,
        "mode": agreed.mode,
        "start_date": agreed.start_date.isoformat(),
        "short_stay": short_stay(agreed.working_days),
        "bank_account": exchange.get("bank_account"),
    }


def _agreed(exchange: Mapping[str, Any]) -> AgreedFacts:
    try:
        return AgreedFacts.from_dict(exchange.get("agreed"))
    except RuleViolation as violation:
        message = f"The financial agreement needs the agreed facts. {violation.message}"
        raise ValueError(message) from violation


def _place_content(place: AgreedPlace) -> dict[str, str]:
    return {"city": place.city, "country": place.country}


def _place(place: AgreedPlace) -> str:
    return f"{place.city}, {_country(place.country)}"


_CTQ_FIELDS = (
    "visitor",
    "host",
    "visitor_partnership",
    "host_partnership",
    "mode",
    "start_date",
    "end_date",
    "travel_days_before",
    "travel_days_after",
    "working_days",
    "skipped_holidays",
    "objectives",
    "activities",
    "activity_plan",
    "expected_outcomes",
    "responsibilities",
)


def render_commitment_to_quality(exchange: Mapping[str, Any]) -> bytes:
    """The Commitment to Quality of the exchange, signed by VO, HO, VOP and HOP."""
    doc = _Doc("Commitment to Quality", exchange)
    visitor, host = exchange["visitor"], exchange["host"]
    vop, hop = exchange["visitor_partnership"], exchange["host_partnership"]

    doc.heading("1. Parties")
    _party(doc, "VO", visitor)
    _party(doc, "HO", host)
    _partnership(doc, "VOP", vop)
    _partnership(doc, "HOP", hop)

    doc.heading("2. Dates")
    _dates(doc, exchange)
    holidays = exchange.get("skipped_holidays") or []
    doc.paragraph("Public holidays of the host country not counted as working days:")
    doc.bullets(
        (f"{item.get('date', '')} — {item.get('name', '')}" for item in holidays),
        empty="None in this period.",
    )

    doc.heading("3. Objectives")
    doc.bullets(_code_names(exchange.get("objectives") or [], reference.objectives()))

    doc.heading("4. Activities")
    doc.bullets(_code_names(exchange.get("activities") or [], reference.activities()))

    doc.heading("5. Activity plan")
    doc.bullets(
        (
            f"{item.get('date', '')}: {item.get('description', '')}"
            for item in exchange.get("activity_plan") or []
        ),
        empty="No activity planned.",
    )

    doc.heading("6. Expected outcomes")
    doc.paragraph(exchange.get("expected_outcomes"))

    responsibilities = exchange.get("responsibilities") or {}
    doc.heading("7. Responsibilities")
    doc.paragraph("Visiting organisation", bold=True)
    doc.paragraph(responsibilities.get("visitor"))
    doc.pdf.ln(1.5)
    doc.paragraph("Host organisation", bold=True)
    doc.paragraph(responsibilities.get("host"))

    doc.heading("8. Rules")
    doc.paragraph(
        "The exchange is a stay at the host organisation to learn, network and cooperate; it is not an "
        "internship or a work placement. The exchange may start only when this Commitment to Quality and "
        "the financial agreement carry all their signatures. After the stay the visiting organisation "
        "submits a closing report with evidence that the stay took place; the host organisation may add "
        "its feedback."
    )

    version = exchange.get("document_version", 1)
    doc.signatures(
        f"By signing, each party confirms this exact version of the Commitment to Quality (reference "
        f"{exchange.get('reference', '')}, version {version}), identified by the SHA-256 of this PDF file as "
        "recorded by the ClusterXchange tool with each signature.",
        [
            (_ROLE_NAMES["VO"], visitor.get("organisation_name"), visitor.get("representative_name")),
            (_ROLE_NAMES["HO"], host.get("organisation_name"), host.get("representative_name")),
            (_ROLE_NAMES["VOP"], vop.get("name"), ""),
            (_ROLE_NAMES["HOP"], hop.get("name"), ""),
        ],
    )
    return doc.output()


def _lump_sum_table(start: date) -> reference.LumpSumTable:
    try:
        return table_in_force(reference.lump_sum_tables(), start)
    except RuleViolation as violation:
        raise ValueError(violation.message) from violation


def render_financial_agreement(exchange: Mapping[str, Any]) -> bytes:
    """The financial agreement between the visiting organisation and its partnership (VO and VOP).

    What it says of the money (places, distance band, host country, start date, length, mode) is the
    exchange's agreed facts, the ones its lump sum is computed from. Raises ValueError when it has none,
    when no lump-sum table is in force on the start date or the table has no rate for the host country
    (what the exchange's validation guarantees)."""
    agreed = _agreed(exchange)
    start = agreed.start_date
    table = _lump_sum_table(start)
    host_country = agreed.host_country
    rate = table.rates.get(host_country)
    if rate is None:
        raise ValueError(f"Lump-sum table {table.version} has no rate for {host_country}.")
    virtual = agreed.mode == "virtual"
    working_days = agreed.working_days

    doc = _Doc("Financial agreement", exchange)
    vop = exchange["visitor_partnership"]
    # The parties where they were agreed to be, which may differ from where they first registered.
    visitor = {**exchange["visitor"], "city": agreed.visitor.city, "country": agreed.visitor.country}
    host = {**exchange["host"], "city": agreed.host.city, "country": agreed.host.country}

    doc.heading("1. Parties")
    doc.paragraph(
        "This agreement is made between the visiting organisation, which receives the financial support, "
        "and its partnership, which grants it to a third party from its ClusterXchange grant."
    )
    doc.pdf.ln(1.5)
    _party(doc, "VO", visitor)
    _partnership(doc, "VOP", vop)

    doc.heading("2. The exchange")
    doc.field("Host organisation", host.get("organisation_name"))
    doc.field("Host organisation's location", _place(agreed.host))
    doc.field("Visiting organisation's location", _place(agreed.visitor))
    doc.field("Host country", _country(host_country))
    # Only what the money depends on: the start date (it picks the rate table) and whether the stay is
    # short; the exact dates are the Commitment to Quality's, so extending a stay that stays long does
    # not ask VO and VOP to sign this again.
    doc.field("Mode", "virtual exchange" if virtual else "physical exchange (stay at the host)")
    doc.field("First day at the host", _iso_date(start.isoformat()))
    doc.field(
        "Dates and activities",
        f"as set out in the Commitment to Quality of exchange {exchange.get('reference', '')}",
    )

    doc.heading("3. Bank account of the visiting organisation")
    account = exchange.get("bank_account")
    if account:
        doc.field("Account holder", account.get("holder"))
        doc.field("IBAN", _grouped_iban(account.get("iban")))
        doc.field("BIC", str(account.get("bic") or "").upper())
    else:
        doc.paragraph("No bank account has been given yet.")

    doc.heading("4. Lump sum")
    doc.field("Host country rate", f"{_eur(rate)} for {_country(host_country)}")
    doc.field(
        "Rate table",
        f"version {table.version}, valid from {table.valid_from.isoformat()} (the table in force on the "
        f"first day at the host, {start.isoformat()})",
    )
    doc.field("Ceiling", _eur(table.ceiling_eur))
    half = (rate + 1) // 2  # half up to whole euros
    if virtual:
        doc.paragraph(
            "This is a virtual exchange: no lump sum is due (EUR 0). The travel lump sum finances travel "
            "and stay, which a virtual exchange does not have."
        )
    else:
        doc.paragraph(
            f"The lump sum is the host country rate, {_eur(rate)}. It is halved, to {_eur(half)}, when the "
            f"stay has fewer than {_HALVING_WORKING_DAYS} working days or the two organisations are less "
            f"than {_HALVING_DISTANCE_KM} km apart (great-circle distance between their locations); it is "
            "halved once even when both apply. Amounts are whole euros, rounded half up after halving, and "
            f"never more than {_eur(table.ceiling_eur)}."
        )
        stay = (
            f"fewer than {_HALVING_WORKING_DAYS} working days: the rate is halved"
            if short_stay(working_days)
            else f"{_HALVING_WORKING_DAYS} working days or more: no reduction for the length of the stay"
        )
        doc.field("Length of the stay", stay)
        distance = (
            f"less than {_HALVING_DISTANCE_KM} km apart: the rate is halved"
            if agreed.nearby
            else f"{_HALVING_DISTANCE_KM} km or more apart: no reduction for the distance"
        )
        doc.field("Distance between the organisations", distance)
        doc.paragraph(
            "The locations, the distance between them and the length of the stay are those agreed when the "
            "exchange was validated: a later change to a registration does not change them, and an "
            "amendment that does is signed again by both parties. The amount is computed from them when "
            "the closing report is approved; the breakdown (rate, country, working days, distance, "
            "reductions, table version) is recorded with the payment."
        )
    doc.pdf.ln(1.5)
    doc.paragraph(
        "Payment: the visitor's partnership pays the lump sum once, by SEPA credit transfer in euros to the "
        f"account above, within {_PAYMENT_DAYS} days of its approval of the closing report and the evidence "
        "that the stay took place."
    )

    version = exchange.get("document_version", 1)
    doc.signatures(
        f"By signing, each party confirms this exact version of the financial agreement (reference "
        f"{exchange.get('reference', '')}, version {version}), identified by the SHA-256 of this PDF file as "
        "recorded by the ClusterXchange tool with each signature.",
        [
            (_ROLE_NAMES["VO"], visitor.get("organisation_name"), visitor.get("representative_name")),
            (_ROLE_NAMES["VOP"], vop.get("name"), ""),
        ],
    )
    return doc.output()
