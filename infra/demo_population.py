"""A demo population for the local stack: accepted registrations across every eligible country,
ecosystem and organisation type, with real cities, their coordinates and plausible people."""

from __future__ import annotations

import random
import unicodedata
from typing import Any

from chalicelib import reference
from chalicelib.reference import gazetteer
from infra.synthetic import COUNTRIES, ECOSYSTEMS, HOST_ONLY_TYPES, VISITOR_TYPES, make_registrations

FIRST_NAMES = (
    "Ada", "Marco", "Sofia", "Jonas", "Elena", "Lukas", "Ana", "Mateusz", "Ioana", "Pieter", "Nina",
    "Tomás", "Katarina", "Mehmet", "Aino", "Giorgos", "Lena", "Dragan", "Marta", "Emil",
)  # fmt: skip
LAST_NAMES = (
    "Rossi", "Müller", "García", "Nowak", "Popescu", "Jansen", "Horvat", "Novák", "Yılmaz", "Virtanen",  # noqa: RUF001 (a Turkish name)
    "Papadopoulos", "Dubois", "Silva", "Kovačević", "Nielsen", "Andersson", "Murphy", "Kuznets", "Petrović",
    "Schmidt",
)  # fmt: skip
OBJECTIVE_TEXT = {
    "learn_from_cluster": "learn how a mature cluster organises its members",
    "new_markets": "explore a new market and meet potential customers",
    "technology_uptake": "take up new technologies, digital tools and greener production",
    "interregional_collaboration": "build collaboration between our regions",
    "networking": "meet new partners and business opportunities",
}


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def _partnership_for(country: str, rng: random.Random) -> str:
    # The seed's example partnerships: the population is made for them, before or without a table.
    from infra.seed import example_partnerships

    members = [p.id for p in example_partnerships() if country in p.countries]
    return rng.choice(members or sorted(p.id for p in example_partnerships()))


def demo_registrations(n: int, seed: int = 11) -> list[dict[str, Any]]:
    """`n` registration documents (status accepted, no ids or users yet); deterministic per seed."""
    rng = random.Random(seed)
    docs = make_registrations(n, seed=seed)
    countries = sorted(COUNTRIES)
    types = VISITOR_TYPES + HOST_ONLY_TYPES
    for i, doc in enumerate(docs):
        organisation = doc["organisation"]
        # The first rows cycle through every country, ecosystem and organisation type so that a small
        # population still covers them all.
        if i < len(countries):
            organisation["country"] = countries[i]
            organisation["city"] = rng.choice(COUNTRIES[countries[i]][2])
        if ECOSYSTEMS[i % len(ECOSYSTEMS)] not in organisation["ecosystems"]:
            organisation["ecosystems"] = sorted(
                {*organisation["ecosystems"][:2], ECOSYSTEMS[i % len(ECOSYSTEMS)]}
            )
        org_type = types[i % len(types)]
        organisation["type"] = org_type
        if org_type in HOST_ONLY_TYPES:
            doc["roles"] = ["host"]
        if "host" in doc["roles"] and not doc.get("hosting"):
            doc["hosting"] = {
                "capacity": 2,
                "offer": "study visits, meetings with members, " + organisation["description"][:80],
            }
        if "host" not in doc["roles"]:
            doc["hosting"] = None
        country, city = organisation["country"], organisation["city"]
        organisation["cluster_name"] = f"{city} {organisation['ecosystems'][0].split('_')[0].title()} Cluster"
        kind = reference.organisation_types()[org_type].name.split(" (")[0].lower()
        fields = " and ".join(reference.ecosystems()[e].lower() for e in organisation["ecosystems"])
        skills = ", ".join(organisation["expertise"]) or "regional innovation"
        organisation["description"] = (
            f"{organisation['name']} is a {kind} in {city} working in {fields}. "
            f"Our members and teams focus on {skills}."
        )
        found = gazetteer.locate(city, country)
        if found:
            organisation["location"] = {"lat": found[0], "lon": found[1]}
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        slug = f"org{i:03d}-{country.lower()}"
        organisation["website"] = f"https://{slug}.demo.example"
        doc["representative"].update(
            {
                "first_name": first,
                "last_name": last,
                "email": f"{_ascii(first)}.{i:03d}@{slug}.demo.example",
                "nationality": country,
                "residence_country": country,
            }
        )
        objectives = doc["preferences"].get("objectives") or ["networking"]
        doc["motivation"] = "We would like to " + "; and ".join(OBJECTIVE_TEXT[o] for o in objectives) + "."
        doc["partnership_id"] = _partnership_for(country, rng)
        doc["exchanges"] = {"visited": False, "hosting_periods": []}
    return docs
