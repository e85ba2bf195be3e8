"""Offline city gazetteer: coordinates of a named city within a country, from a compact file of the
eligible countries' towns (built from GeoNames by infra.gazetteer, checked in beside this module)."""

from __future__ import annotations

import gzip
import threading
import unicodedata
from pathlib import Path

# "<country>\t<latitude>\t<longitude>\t<name>|<name>..." a line: folded names, each naming the most
# populous town that bears it in that country.
DATA_FILE = Path(__file__).parent / "gazetteer.tsv.gz"

# Letters that Unicode does not decompose into a base letter and a mark, so NFKD alone would keep
# "Łódź" and "Lodz" apart.
_FOLD = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "\u0131": "i",  # dotless i
        "ħ": "h",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "-": " ",
    }
)

_Entry = tuple[float, float]
_index: dict[tuple[str, str], _Entry] | None = None
_lock = threading.Lock()


def normalise(name: str) -> str:
    """Fold case, accents, hyphens and runs of whitespace so that spellings of one name compare equal."""
    folded = name.casefold()
    if not folded.isascii():
        decomposed = unicodedata.normalize("NFKD", folded)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(folded.translate(_FOLD).split())


def _build_index() -> dict[tuple[str, str], _Entry]:
    index: dict[tuple[str, str], _Entry] = {}
    with gzip.open(DATA_FILE, "rt", encoding="utf-8") as f:
        for line in f:
            code, lat, lon, names = line.rstrip("\n").split("\t")
            entry = (float(lat), float(lon))
            for name in names.split("|"):
                index[(code, name)] = entry
    return index


def _get_index() -> dict[tuple[str, str], _Entry]:
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = _build_index()
    return _index


def locate(city: str, country: str) -> tuple[float, float] | None:
    """(lat, lon) of `city` in `country` (ISO alpha-2, XK for Kosovo), or None when it is not known.

    Only eligible countries are indexed: a registration elsewhere is refused anyway.
    """
    name = normalise(city)
    if not name:
        return None
    entry = _get_index().get((country.strip().upper(), name))
    if entry is None:
        return None
    return entry
