"""Tokens, phrases, folding and hashed signatures used by matching and catalogue search."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.rules import text


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Ökologie", "okologie"),
        ("Straße", "strasse"),
        ("Łódź", "lodz"),
        ("CAFÉ Crème", "cafe creme"),
        ("İstanbul", "istanbul"),
        ("Ørsted Æble", "orsted aeble"),
        ("București", "bucuresti"),
    ],
)
def test_fold_strips_case_and_accents(raw, folded):
    assert text.fold(raw) == folded


def test_fold_for_search_collapses_whitespace():
    assert text.fold_for_search("  Smart\t\nGRIDS \u00a0 Zürich ") == "smart grids zurich"


def test_collapse_spaces_keeps_the_index_separators():
    assert text.collapse_spaces("a \t b\x1ec\n\nd\x1f  e") == "a b\x1ec d\x1f e"


def test_tokens_drop_stop_words_short_tokens_and_stem():
    assert text.tokens("The Smart Grids of an IoT lab, and it is ok") == {"smart", "grid", "iot", "lab"}


def test_tokens_keep_meaningful_short_tokens():
    assert {"ai", "3d"} <= text.tokens("AI and 3D printing")


@pytest.mark.parametrize(
    "words",
    [
        ("technology", "technologies"),
        ("manufacture", "manufactured", "manufacturing", "manufactures"),
        ("plan", "planning", "planned", "plans"),
        ("service", "services"),
        ("process", "processes"),
        ("grid", "grids"),
        ("energy", "energies"),
    ],
)
def test_stemming_makes_word_forms_meet(words):
    assert len({text.stem(word) for word in words}) == 1


def test_stemming_leaves_short_and_numeric_words():
    assert text.stem("gas") == "gas"
    assert text.stem("2027") == "2027"
    assert text.stem("analysis") == "analysis"


def test_tokens_are_accent_insensitive_and_deterministic():
    assert text.tokens("Énergie RENOUVELABLE") == text.tokens("energie renouvelable")
    assert text.tokens("smart grids") == text.tokens("smart grids")
    assert isinstance(text.tokens("x"), frozenset)


def test_token_forms_keep_the_shortest_surface_word():
    assert text.token_forms("Grids, grid and GRIDS")["grid"] == "grid"


def test_expertise_phrases_add_a_joined_token():
    tokens = text.expertise_tokens(["Smart Grids", "IoT", "machine learning"])
    assert {"smart", "grid", "smart_grid", "iot", "machin_learn"} <= tokens


def test_phrases_only_for_two_or_three_words():
    assert text.phrase_of("iot") is None
    assert text.phrase_of("the iot") is None  # one word once the stop word is gone
    assert text.phrase_of("a very long expertise entry with many words") is None
    assert text.phrase_of("smart grids") == ("smart_grid", "smart grids")


def test_phrase_forms_display_the_shortest_entry():
    assert text.phrase_forms(["Smart Grids", "smart grid"]) == {"smart_grid": "smart grid"}


def test_signature_is_four_words_with_blake2b_bits():
    sig = text.signature({"iot", "smart_grid"})
    assert len(sig) == 4
    assert all(0 <= word < 2**64 for word in sig)
    value = sum(word << (64 * i) for i, word in enumerate(sig))
    for token in ("iot", "smart_grid"):
        bit = hashlib.blake2b(token.encode(), digest_size=1).digest()[0]
        assert value >> bit & 1


def test_signature_of_nothing_is_empty_and_order_does_not_matter():
    assert text.signature(()) == (0, 0, 0, 0)
    assert text.signature(["a1", "b2", "c3"]) == text.signature(["c3", "a1", "b2"])


def test_signature_is_the_same_in_another_process():
    # Python's hash() changes per process; the signature must not.
    here = text.signature(text.tokens("Smart grids, IoT and solar storage"))
    code = (
        "from chalicelib.rules import text;"
        "print(text.signature(text.tokens('Smart grids, IoT and solar storage')))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(here)


def test_signature_similarity():
    a = text.signature(text.tokens("smart grids iot solar"))
    assert text.signature_similarity(a, a) == 1.0
    assert text.signature_similarity(a, (0, 0, 0, 0)) == 0.0
    assert text.signature_similarity((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0
    b = text.signature(text.tokens("smart grids textiles"))
    assert 0.0 < text.signature_similarity(a, b) < 1.0
