"""What an export of exchanges holds (API.md "Support, finance, statistics"): its columns and their order,
one row per exchange, and the CSV written so that no spreadsheet runs a cell as a formula (CSV
injection). Pure: no AWS, no I/O."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

# What a row is read from: an exchange as stored (chalicelib.store.exchanges), with its payment, if it has
# one, under "payment".
Source = Mapping[str, Any]


def _of(section: str, name: str) -> Callable[[Source], Any]:
    return lambda exchange: (exchange.get(section) or {}).get(name)


def _field(name: str) -> Callable[[Source], Any]:
    return lambda exchange: exchange.get(name)


# Column -> how its cell is read; the order is the default order. Amounts in whole euros and working
# days are numbers the export writes itself; every other cell is text as stored.
COLUMNS: dict[str, Callable[[Source], Any]] = {
    "reference": _field("reference"),
    "status": _field("status"),
    "visitor_organisation": _of("visitor", "organisation_name"),
    "visitor_country": _of("visitor", "country"),
    "host_organisation": _of("host", "organisation_name"),
    "host_country": _of("host", "country"),
    "visitor_partnership": _of("visitor_partnership", "name"),
    "host_partnership": _of("host_partnership", "name"),
    "start_date": _field("start_date"),
    "end_date": _field("end_date"),
    "working_days": _field("working_days"),
    "amount_eur": _of("payment", "amount_eur"),
    "paid_at": _of("payment", "paid_at"),
}
NAMES = tuple(COLUMNS)
# `?columns=` as the served document states it: known names, comma-separated, spaces around them allowed.
_NAME = "(?:" + "|".join(NAMES) + ")"
COLUMNS_PATTERN = f"^ *{_NAME} *(?:, *{_NAME} *)*$"

# The characters a spreadsheet reads as the start of a formula (or of one after a cell break), as OWASP's
# "CSV Injection" page lists them; a cell starting with one is prefixed with a single quote, which the
# spreadsheet shows as text and does not evaluate.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Written first, so spreadsheet programs read the file as UTF-8 (organisation names carry accents).
BYTE_ORDER_MARK = "\ufeff"


class UnknownColumns(ValueError):
    """`?columns=` names columns the export does not have."""

    def __init__(self, unknown: Sequence[str]) -> None:
        names = ", ".join(repr(name) for name in unknown)
        super().__init__(f"unknown columns: {names}; known: {', '.join(NAMES)}")
        self.unknown = tuple(unknown)


def chosen(spec: str | None) -> tuple[str, ...]:
    """The columns `?columns=` asks for, in its order, each once; all of them when it is not given."""
    if spec is None:
        return NAMES
    asked = [name.strip(" ") for name in spec.split(",")]
    unknown = [name for name in asked if name not in COLUMNS]
    if unknown:
        raise UnknownColumns(unknown)
    return tuple(dict.fromkeys(asked))


def neutralised(text: str) -> str:
    """A text cell that a spreadsheet shows as it is, never evaluates."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):  # a bool is an int to Python; none is exported, but never as a number
        return neutralised(str(value).lower())
    if isinstance(value, int | float):
        return str(value)  # a number the export writes itself: not text, left alone
    return neutralised(str(value))


def rows(exchanges: Iterable[Source], columns: Sequence[str]) -> list[list[str]]:
    """The header and one row per exchange, in the order given."""
    readers = [COLUMNS[name] for name in columns]
    return [list(columns), *([cell(read(exchange)) for read in readers] for exchange in exchanges)]


def to_csv(table: Sequence[Sequence[str]]) -> str:
    """RFC 4180 text (CRLF line ends, quotes where needed), after a byte-order mark."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return BYTE_ORDER_MARK + out.getvalue()
