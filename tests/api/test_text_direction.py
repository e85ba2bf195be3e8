"""Text shown to other parties renders as it was written: the characters that reorder what follows
them (bidirectional embeddings, overrides and isolates) are refused with the control characters, in
every string of every body and query, and the served document says so; right-to-left and other
non-Latin writing, emoji and the direction marks such writing needs stay accepted."""

from __future__ import annotations

import json
import re

import pytest

from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, register, registration

# U+202A-U+202E: LRE, RLE, PDF, LRO, RLO; U+2066-U+2069: LRI, RLI, FSI, PDI.
REORDERING = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def _refused_naming(response, field):
    assert response.status_code == 400, response.body
    error = body(response)["error"]
    assert error["code"] == "CONTROL_CHARACTERS"
    assert [d["field"] for d in error["details"]] == [field]


def test_an_organisation_name_that_would_render_reversed_is_refused_naming_the_field(client, token):
    # Given an organisation name that shows as "Acme IoT" followed by a reversed "gnitluser"
    seed_partnerships()
    name = "Acme IoT \u202eresulting"
    # When
    response = register(client, token(), registration(organisation__name=name))
    # Then
    _refused_naming(response, "organisation.name")


# Each character once, in turn in a name, a description, a free text and an entry of a list.
PLACES = [
    ({"organisation__name": "Acme {} IoT"}, "organisation.name"),
    ({"organisation__description": "Sensors {}for smart buildings."}, "organisation.description"),
    ({"motivation": "We want to learn{}."}, "motivation"),
    ({"organisation__expertise": ["iot", "smart{} grids"]}, "organisation.expertise.1"),
]


@pytest.mark.parametrize(
    ("character", "place"),
    [(c, PLACES[i % len(PLACES)]) for i, c in enumerate(REORDERING)],
    ids=[f"U+{ord(c):04X}" for c in REORDERING],
)
def test_every_reordering_character_is_refused(client, token, character, place):
    seed_partnerships()
    changes, field = place
    placed = {
        key: [v.format(character) for v in value] if isinstance(value, list) else value.format(character)
        for key, value in changes.items()
    }
    _refused_naming(register(client, token(), registration(**placed)), field)


def test_a_filename_that_hides_its_extension_is_refused(client, token):
    # Given a registered participant asking for a CV form for "cv\u202efdp.exe" (shown as "cvexe.pdf")
    seed_partnerships()
    tok = token()
    assert register(client, tok).status_code == 201
    # When
    response = client.http.post(
        "/v1/registrations/me/cv",
        headers=auth(tok),
        body=json.dumps({"filename": "cv\u202efdp.exe", "content_type": "application/pdf", "size": 1000}),
    )
    # Then
    _refused_naming(response, "filename")


def test_a_search_query_with_a_reordering_character_is_refused(client, token):
    seed_partnerships()
    tok = token()
    assert register(client, tok).status_code == 201
    response = client.http.get("/v1/catalogue?q=iot%E2%80%AE", headers=auth(tok))
    _refused_naming(response, "q")


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"organisation__name": "شركة الأنظمة الذكية"}, ("organisation", "name")),
        ({"organisation__name": "Ελληνικά Συστήματα ΑΕ"}, ("organisation", "name")),  # noqa: RUF001
        (
            {"organisation__description": "Sensors 🌱🔌 for smart buildings 👩🏽\u200d🔬"},
            ("organisation", "description"),
        ),
        # Marks only set the direction of the neutral characters next to them (a number, a bracket)
        # and cannot reverse a word: Arabic and Hebrew writing needs them.
        ({"motivation": "Visit \u200fشركة (2027)\u200f and \u200eAcme\u200e, \u061c٢٠٢٧"}, ("motivation",)),  # noqa: RUF001
    ],
    ids=["arabic", "greek", "emoji", "direction-marks"],
)
def test_non_latin_writing_emoji_and_direction_marks_are_accepted(client, token, changes, shown):
    seed_partnerships()
    response = register(client, token(), registration(**changes))
    assert response.status_code == 201, response.body
    stored = body(response)
    for part in shown:
        stored = stored[part]
    assert stored == next(iter(changes.values()))


def test_the_served_document_refuses_what_the_adapter_refuses(client):
    document = body(client.http.get("/v1/openapi.json"))
    patterns = {
        json.dumps(schema["not"])
        for schema in _strings(document)
        if isinstance(schema.get("not"), dict) and "pattern" in schema["not"]
    }
    assert len(patterns) == 1, patterns
    refused = re.compile(json.loads(patterns.pop())["pattern"])
    for character in [*REORDERING, "\x00", "\x1b", "\x7f", "\x85"]:
        assert refused.search(f"a{character}b"), f"U+{ord(character):04X}"
    for character in ["\t", "\n", "\r", "\u200e", "\u200f", "\u061c", "\u200d", "ش", "Ω", "🌱"]:
        assert not refused.search(f"a{character}b"), f"U+{ord(character):04X}"


def _strings(node):
    if isinstance(node, dict):
        if node.get("type") == "string":
            yield node
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
