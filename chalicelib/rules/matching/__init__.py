"""Matching and catalogue over accepted registrations, pure (numpy, no I/O):

- `card`: the public catalogue card of a registration;
- `features`: one registration's facts as codes and bitsets;
- `index`: the in-memory column index built once per snapshot;
- `scoring`: weighted match scores, reasons and the best matches;
- `catalogue`: catalogue filters, text search and pages.

The names other modules use are re-exported here.
"""

from __future__ import annotations

from chalicelib.rules.matching.card import card_from_registration
from chalicelib.rules.matching.catalogue import CatalogueQuery, catalogue_page
from chalicelib.rules.matching.features import ECOSYSTEMS, OBJECTIVES, ORGANISATION_TYPES, organisation_key
from chalicelib.rules.matching.index import MatchIndex
from chalicelib.rules.matching.scoring import WEIGHTS, Match, best_matches

__all__ = [
    "ECOSYSTEMS",
    "OBJECTIVES",
    "ORGANISATION_TYPES",
    "WEIGHTS",
    "CatalogueQuery",
    "Match",
    "MatchIndex",
    "best_matches",
    "card_from_registration",
    "catalogue_page",
    "organisation_key",
]
