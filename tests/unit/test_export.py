"""The exchanges export's rules: the columns asked for, cells written so that no spreadsheet runs them
(CSV injection), and the CSV read back as it was meant."""

from __future__ import annotations

import csv
import io

import pytest

from chalicelib.rules import export

EXCHANGE = {
    "reference": "CXC-2027-000001",
    "status": "paid",
    "visitor": {"organisation_name": "Acme IoT", "country": "IT"},
    "host": {"organisation_name": "Berlin Digital Cluster", "country": "DE"},
    "visitor_partnership": {"id": "epix", "name": "EPIX"},
    "host_partnership": {"id": "ce4big", "name": "CE4BIG"},
    "start_date": "2027-04-12",
    "end_date": "2027-04-16",
    "working_days": 5,
    "payment": {"amount_eur": 900, "paid_at": "2027-04-20"},
}


def read_back(text: str) -> list[list[str]]:
    assert text.startswith(export.BYTE_ORDER_MARK)
    return list(csv.reader(io.StringIO(text.removeprefix(export.BYTE_ORDER_MARK), newline="")))


def test_every_column_by_default_in_its_order_and_one_row_an_exchange():
    # When
    table = read_back(export.to_csv(export.rows([EXCHANGE], export.chosen(None))))
    # Then
    assert table[0] == list(export.NAMES)
    assert table[1] == [
        "CXC-2027-000001", "paid", "Acme IoT", "IT", "Berlin Digital Cluster", "DE", "EPIX", "CE4BIG",
        "2027-04-12", "2027-04-16", "5", "900", "2027-04-20",
    ]  # fmt: skip


def test_columns_are_the_ones_asked_for_in_that_order_each_once():
    assert export.chosen("amount_eur, reference,amount_eur") == ("amount_eur", "reference")
    table = read_back(export.to_csv(export.rows([EXCHANGE], ("paid_at", "reference"))))
    assert table == [["paid_at", "reference"], ["2027-04-20", "CXC-2027-000001"]]


@pytest.mark.parametrize("spec", ["amount", "reference,,status", "reference,", "REFERENCE"])
def test_unknown_columns_are_named(spec):
    with pytest.raises(export.UnknownColumns) as refused:
        export.chosen(spec)
    assert refused.value.unknown and all(repr(name) in str(refused.value) for name in refused.value.unknown)


@pytest.mark.parametrize(
    "spec", ["reference", "reference,status", " reference , status ", "amount_eur,amount_eur"]
)
def test_the_documents_pattern_accepts_what_the_code_accepts(spec):
    import re

    assert re.fullmatch(export.COLUMNS_PATTERN, spec)
    export.chosen(spec)


@pytest.mark.parametrize("spec", ["", "amount", "reference,,status", "reference,", "reference\t"])
def test_the_documents_pattern_refuses_what_the_code_refuses(spec):
    import re

    assert not re.fullmatch(export.COLUMNS_PATTERN, spec)
    with pytest.raises(export.UnknownColumns):
        export.chosen(spec)


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+31 Cluster", "'+31 Cluster"),
        ("-minus", "'-minus"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTabbed", "'\tTabbed"),
        ("\rReturned", "'\rReturned"),
        ("Acme = IoT", "Acme = IoT"),
        ("Ålesund Øst", "Ålesund Øst"),
        ('He said "hi", twice', 'He said "hi", twice'),
    ],
)
def test_a_text_cell_that_a_spreadsheet_would_run_is_neutralised(name, written):
    # Given an organisation named to inject a formula
    exchange = {**EXCHANGE, "visitor": {"organisation_name": name, "country": "IT"}}
    # When exported and read back
    table = read_back(export.to_csv(export.rows([exchange], ("visitor_organisation", "working_days"))))
    # Then its cell is text that no spreadsheet evaluates, quoted where CSV needs it
    assert table[1] == [written, "5"]


def test_numbers_the_export_writes_itself_are_left_alone_and_missing_ones_are_blank():
    assert export.cell(-5) == "-5" and export.cell(0) == "0"
    assert export.cell("-5") == "'-5"  # the same text, as stored text, is neutralised
    unpaid = {**EXCHANGE, "payment": None}
    assert read_back(export.to_csv(export.rows([unpaid], ("amount_eur", "paid_at"))))[1] == ["", ""]
