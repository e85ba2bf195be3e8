"""What callers hand the matching rules and get back besides cards and matches: catalogue filters and
positions to continue a list from. Free of numpy, so the HTTP layer imports it without paying for
numpy in every function's cold start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class CatalogueQuery:
    """Catalogue filters; every one is optional and all given ones must hold."""

    role: str | None = None
    country: str | None = None
    ecosystem: str | None = None
    organisation_type: str | None = None
    language: str | None = None
    q: str | None = None
    available_from: str | date | None = None
    available_to: str | date | None = None


class CataloguePosition(NamedTuple):
    """A place in catalogue order: just after the row with this folded organisation name and id. It
    names a place, not a row, so it keeps its meaning when the index is rebuilt. A long name is cut to
    its first POSITION_NAME_CHARS characters (`partial`), so a position stays small whatever the name."""

    name: str
    id: str
    partial: bool = False


# Folded names are mostly ASCII, but any character may take 12 bytes once escaped in a cursor.
POSITION_NAME_CHARS = 48


class MatchPosition(NamedTuple):
    """A place in a seeker's ranking (score descending, then registration id): just after the match
    with this score, in milli-points, and this id. It names a place, not a row, so it keeps its
    meaning when the index is rebuilt."""

    milli: int
    id: str
