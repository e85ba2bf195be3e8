"""Deterministic synthetic accepted registrations: the benchmarks' 100k and the demo population's base."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from chalicelib.rules.matching.features import ECOSYSTEMS, OBJECTIVES

# Country -> (relative weight, main language, a few cities). All COSME-eligible countries.
COUNTRIES: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "AT": (4, "de", ("Wien", "Graz", "Linz")),
    "BE": (4, "nl", ("Bruxelles", "Antwerpen", "Liège")),
    "BG": (2, "bg", ("Sofia", "Plovdiv")),
    "HR": (2, "hr", ("Zagreb", "Split")),
    "CY": (1, "el", ("Nicosia", "Limassol")),
    "CZ": (3, "cs", ("Praha", "Brno", "Ostrava")),
    "DK": (3, "da", ("København", "Aarhus")),
    "EE": (1, "et", ("Tallinn", "Tartu")),
    "FI": (3, "fi", ("Helsinki", "Tampere", "Oulu")),
    "FR": (10, "fr", ("Paris", "Lyon", "Toulouse", "Grenoble", "Nantes")),
    "DE": (12, "de", ("Berlin", "München", "Stuttgart", "Hamburg", "Köln")),
    "GR": (3, "el", ("Athina", "Thessaloniki")),
    "HU": (3, "hu", ("Budapest", "Debrecen")),
    "IE": (2, "en", ("Dublin", "Cork")),
    "IT": (10, "it", ("Milano", "Torino", "Padova", "Bologna", "Napoli")),
    "LV": (1, "lv", ("Rīga",)),
    "LT": (1, "lt", ("Vilnius", "Kaunas")),
    "LU": (1, "fr", ("Luxembourg",)),
    "MT": (1, "mt", ("Valletta",)),
    "NL": (5, "nl", ("Amsterdam", "Eindhoven", "Rotterdam")),
    "PL": (6, "pl", ("Warszawa", "Kraków", "Wrocław")),
    "PT": (4, "pt", ("Lisboa", "Porto", "Braga")),
    "RO": (4, "ro", ("București", "Cluj-Napoca", "Iași")),
    "SK": (2, "sk", ("Bratislava", "Košice")),
    "SI": (1, "sl", ("Ljubljana", "Maribor")),
    "ES": (9, "es", ("Madrid", "Barcelona", "Valencia", "Bilbao", "Sevilla")),
    "SE": (4, "sv", ("Stockholm", "Göteborg", "Malmö")),
    "IS": (1, "is", ("Reykjavík",)),
    "AL": (1, "sq", ("Tiranë",)),
    "BA": (1, "bs", ("Sarajevo",)),
    "XK": (1, "sq", ("Prishtinë",)),
    "ME": (1, "sr", ("Podgorica",)),
    "MK": (1, "mk", ("Skopje",)),
    "RS": (2, "sr", ("Beograd", "Novi Sad")),
    "TR": (5, "tr", ("İstanbul", "Ankara", "İzmir")),
    "AM": (1, "hy", ("Yerevan",)),
    "MD": (1, "ro", ("Chișinău",)),
    "UA": (3, "uk", ("Kyiv", "Lviv", "Kharkiv")),
}

VISITOR_TYPES: tuple[str, ...] = ("cluster_organisation", "scaleup_support", "sme")
HOST_ONLY_TYPES: tuple[str, ...] = ("large_company", "public_authority", "training_provider", "university")
EXTRA_LANGUAGES: tuple[str, ...] = ("en", "en", "en", "de", "fr", "es", "it")

# Per ecosystem: words for descriptions and expertise entries (some multi-word).
VOCABULARY: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "aerospace_defence": (
        ("satellite", "avionics", "composite", "drones", "propulsion", "space", "navigation"),
        ("satellite data", "composite materials", "drone inspection", "avionics testing"),
    ),
    "agri_food": (
        ("farming", "dairy", "crops", "vineyards", "irrigation", "organic", "food", "packaging"),
        ("precision farming", "food safety", "organic certification", "hemp processing"),
    ),
    "construction": (
        ("buildings", "timber", "concrete", "retrofit", "insulation", "architecture", "modular"),
        ("energy retrofit", "timber construction", "bim modelling", "modular housing"),
    ),
    "cultural_creative": (
        ("design", "games", "film", "music", "heritage", "animation", "publishing", "fashion"),
        ("game design", "virtual reality", "cultural heritage", "animation studio"),
    ),
    "digital": (
        ("software", "cloud", "cybersecurity", "data", "platforms", "analytics", "iot", "ai"),
        ("iot", "machine learning", "cybersecurity audits", "cloud platforms", "data analytics"),
    ),
    "electronics": (
        ("sensors", "semiconductors", "photonics", "embedded", "circuits", "microchips"),
        ("embedded systems", "sensor networks", "photonics", "printed electronics"),
    ),
    "energy_intensive": (
        ("steel", "chemicals", "ceramics", "glass", "cement", "furnaces", "decarbonisation"),
        ("process heat", "hydrogen furnaces", "carbon capture", "industrial symbiosis"),
    ),
    "energy_renewables": (
        ("solar", "wind", "hydrogen", "batteries", "storage", "grids", "geothermal", "biomass"),
        ("smart grids", "solar panels", "battery storage", "green hydrogen", "wind turbines"),
    ),
    "health": (
        ("medical", "diagnostics", "biotech", "pharma", "devices", "clinical", "imaging", "genomics"),
        ("medical devices", "clinical trials", "molecular imaging", "digital health"),
    ),
    "mobility_transport_automotive": (
        ("vehicles", "logistics", "railways", "charging", "batteries", "ports", "automotive"),
        ("electric vehicles", "charging infrastructure", "smart logistics", "rail signalling"),
    ),
    "proximity_social_economy": (
        ("cooperatives", "inclusion", "community", "social", "volunteers", "care", "local"),
        ("social enterprise", "community energy", "inclusive employment"),
    ),
    "retail": (
        ("ecommerce", "shops", "consumers", "marketplaces", "payments", "loyalty", "fulfilment"),
        ("online marketplaces", "omnichannel retail", "payment systems"),
    ),
    "textiles": (
        ("fabrics", "yarn", "garments", "dyeing", "recycling", "fibres", "weaving", "knitting"),
        ("technical textiles", "textile recycling", "natural fibres", "smart textiles"),
    ),
    "tourism": (
        ("hospitality", "hotels", "travel", "destinations", "visitors", "gastronomy", "heritage"),
        ("sustainable tourism", "destination management", "booking platforms"),
    ),
}
FILLER: tuple[str, ...] = (
    "we",
    "are",
    "a",
    "regional",
    "company",
    "cluster",
    "working",
    "on",
    "innovative",
    "solutions",
    "for",
    "the",
    "european",
    "market",
    "with",
    "partners",
    "and",
    "clients",
    "research",
    "projects",
    "development",
    "services",
    "our",
    "team",
    "experience",
    "in",
    "sustainable",
    "growth",
)
OFFER_WORDS: tuple[str, ...] = (
    "mentoring",
    "training",
    "export",
    "markets",
    "technology",
    "digitalisation",
    "networking",
    "events",
    "collaboration",
    "joint",
    "projects",
    "lab",
    "access",
    "visits",
)
NAME_PARTS: tuple[tuple[str, ...], tuple[str, ...]] = (
    ("Acme", "Nova", "Blue", "Green", "Alpha", "Nord", "Sud", "Euro", "Terra", "Lumen", "Öko", "Élan"),
    ("Labs", "Systems", "Cluster", "Tech", "Solutions", "Hub", "Works", "Institute", "Group", "Network"),
)


def _window(rng: random.Random) -> tuple[str | None, str | None]:
    roll = rng.random()
    if roll < 0.1:
        return None, None
    start = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 300))
    if roll < 0.2:
        return start.isoformat(), None
    end = start + timedelta(days=rng.randrange(14, 240))
    return start.isoformat(), end.isoformat()


def _registration(i: int, rng: random.Random, codes: list[str], weights: list[int]) -> dict[str, Any]:
    country = rng.choices(codes, weights)[0]
    _, language, cities = COUNTRIES[country]
    roll = rng.random()
    roles = ["visitor"] if roll < 0.5 else ["host"] if roll < 0.8 else ["visitor", "host"]
    org_type = (
        rng.choice(VISITOR_TYPES) if "visitor" in roles or rng.random() < 0.6 else rng.choice(HOST_ONLY_TYPES)
    )
    ecosystems = sorted(set(rng.sample(ECOSYSTEMS, rng.choice((1, 1, 2, 2, 3)))))
    words = [w for e in ecosystems for w in VOCABULARY[e][0]]
    phrases = [p for e in ecosystems for p in VOCABULARY[e][1]]
    description = " ".join(
        rng.choice(words) if rng.random() < 0.45 else rng.choice(FILLER) for _ in range(rng.randrange(25, 60))
    )
    languages = sorted({language, *rng.sample(EXTRA_LANGUAGES, rng.choice((0, 1, 1, 2)))})
    available_from, available_to = _window(rng)
    is_host = "host" in roles
    hosting = None
    periods: list[dict[str, str]] = []
    if is_host:
        hosting = {
            "capacity": rng.choice((1, 1, 2, 2, 3, 5)),
            "offer": " ".join(rng.sample(OFFER_WORDS, 5)) + " " + " ".join(rng.sample(words, 3)),
        }
        if rng.random() < 0.15:
            for _ in range(rng.randrange(1, 4)):
                start = date(2027, 1, 1) + timedelta(days=rng.randrange(0, 330))
                periods.append({"start": start.isoformat(), "end": (start + timedelta(days=4)).isoformat()})
    name = f"{rng.choice(NAME_PARTS[0])} {rng.choice(words).title()} {rng.choice(NAME_PARTS[1])} {i}"
    return {
        "id": f"reg_{i:07d}",
        "user_id": f"user-{i:07d}",
        "status": "accepted",
        "roles": roles,
        "partnership_id": rng.choice(("epix", "medic-nest", "ce4big", "clamtex", "cloth", "hempclub")),
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-02T10:00:00Z",
        "version": 1,
        "organisation": {
            "name": name,
            "type": org_type,
            "country": country,
            "city": rng.choice(cities),
            "location": {"lat": round(rng.uniform(35, 65), 4), "lon": round(rng.uniform(-10, 40), 4)},
            "cluster_name": f"{rng.choice(cities)} {ecosystems[0].split('_')[0].title()} Cluster",
            "website": f"https://org{i}.example",
            "ecosystems": ecosystems,
            "description": description,
            "expertise": sorted(set(rng.sample(phrases, min(len(phrases), rng.randrange(1, 4))))),
        },
        "representative": {
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "email": f"person{i}@org{i}.example",
            "date_of_birth": "1985-06-15",
            "nationality": country,
            "languages": languages,
            "residence_country": country,
            "residence_permit": False,
        },
        "motivation": "We want to learn and grow.",
        "preferences": {
            "countries": sorted(set(rng.sample(codes, rng.choice((0, 1, 2, 3, 4))))),
            "ecosystems": sorted(set(rng.sample(ECOSYSTEMS, rng.choice((0, 1, 2, 3))))),
            "organisation_types": sorted(
                set(rng.sample(VISITOR_TYPES + HOST_ONLY_TYPES, rng.choice((0, 0, 1, 2))))
            ),
            "objectives": sorted(set(rng.sample(OBJECTIVES, rng.choice((1, 2, 3))))),
            "available_from": available_from,
            "available_to": available_to,
            "virtual_ok": rng.random() < 0.3,
        },
        "hosting": hosting,
        "exchanges": {"visited": "visitor" in roles and rng.random() < 0.1, "hosting_periods": periods},
    }


def make_registrations(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """`n` accepted registrations, the same for the same seed: every eligible country, mixed roles,
    types allowed for each role, ecosystems, languages, availability windows and descriptions."""
    rng = random.Random(seed)
    codes = list(COUNTRIES)
    weights = [COUNTRIES[c][0] for c in codes]
    return [_registration(i, rng, codes, weights) for i in range(n)]


def registration(reg_id: str, **changes: Any) -> dict[str, Any]:
    """One small accepted registration for unit tests: a visitor SME in IT unless `changes` say
    otherwise. Top-level keys replace; "organisation", "representative" and "preferences" merge."""
    reg: dict[str, Any] = {
        "id": reg_id,
        "user_id": f"user-{reg_id}",
        "status": "accepted",
        "roles": ["visitor"],
        "partnership_id": "epix",
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T10:00:00Z",
        "version": 1,
        "organisation": {
            "name": f"Org {reg_id}",
            "type": "sme",
            "country": "IT",
            "city": "Padova",
            "location": {"lat": 45.41, "lon": 11.88},
            "cluster_name": "Veneto ICT Cluster",
            "website": "https://org.example",
            "ecosystems": ["digital"],
            "description": "",
            "expertise": [],
        },
        "representative": {
            "first_name": "Ada",
            "last_name": "Rossi",
            "email": f"{reg_id}@org.example",
            "date_of_birth": "1990-05-01",
            "nationality": "IT",
            "languages": ["it", "en"],
            "residence_country": "IT",
            "residence_permit": False,
        },
        "motivation": "A secret motivation.",
        "preferences": {
            "countries": [],
            "ecosystems": [],
            "organisation_types": [],
            "objectives": [],
            "available_from": None,
            "available_to": None,
            "virtual_ok": False,
        },
        "hosting": None,
        "exchanges": {"visited": False, "hosting_periods": []},
    }
    for key, value in changes.items():
        if key in ("organisation", "representative", "preferences") and isinstance(value, dict):
            reg[key] = {**reg[key], **value}
        else:
            reg[key] = value
    if "host" in reg["roles"] and reg["hosting"] is None and "hosting" not in changes:
        reg["hosting"] = {"capacity": 2, "offer": ""}
    return reg
