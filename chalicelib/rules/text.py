"""Text normalisation for matching and catalogue search: accent folding, stemmed tokens, expertise
phrases and the 256-bit hashed token signatures the match index compares with popcounts."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Letters NFKD does not decompose into a base letter plus a combining mark.
_SPECIAL_LETTERS = {
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    chr(0x131): "i",
    "ß": "ss",
}
_SPECIAL = re.compile(f"[{''.join(_SPECIAL_LETTERS)}]")
# Combining marks of the Latin, Greek, Cyrillic and Armenian letters participants write; a regex
# rather than a per-character loop so the index can fold all its text in one call.
_COMBINING = re.compile("[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
WORD = re.compile(r"[a-z0-9]+")
# Every character str.split() takes for whitespace except the space itself and the ASCII
# separators \x1c-\x1f, which the index uses to delimit fields and documents in its text.
_OTHER_SPACES = (
    "\t\n\x0b\x0c\r\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)

_STOP_WORDS_TEXT = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each either etc few for from
    further had has have having he her here hers herself him himself his how however i if in into is
    it its itself just let like make makes many may me might more most much must my myself near need
    needs neither no nor not now of off on once one only or other others our ours ourselves out over
    own per same shall she should since so some such than that the their theirs them themselves then
    there these they this those through thus to too under until up upon us use used uses using very
    via was we well were what when where whether which while who whom whose why will with within
    without would yet you your yours yourself yourselves
"""
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

# Short tokens that carry meaning in this domain; everything else under 3 characters is noise.
SHORT_KEEP: frozenset[str] = frozenset({"ai", "3d", "4g", "5g", "6g", "ar", "vr", "xr", "ev", "ml"})

SIGNATURE_BITS = 256
PHRASE_JOINER = "_"
_VOWELS = frozenset("aeiouy")
_NO_UNDOUBLE = frozenset("lsz")


def fold(text: str) -> str:
    """Casefold and strip accents, so "Ökologie" and "okologie" compare equal."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    folded = _SPECIAL.sub(lambda m: _SPECIAL_LETTERS[m.group()], folded)
    return _COMBINING.sub("", unicodedata.normalize("NFKD", folded))


def collapse_spaces(text: str) -> str:
    """Every whitespace run as one space, keeping the separators \\x1c-\\x1f. Plain str.replace
    passes rather than a regex: on the index's 40 MB of text this is several times faster."""
    for space in _OTHER_SPACES:
        if space in text:
            text = text.replace(space, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text


def fold_for_search(text: str) -> str:
    """`fold` with whitespace collapsed and control separators dropped: the form substring search
    compares, for queries and indexed text alike."""
    return " ".join(fold(text).split())


def _strip_double(base: str) -> str:
    # "planning" -> "plann" -> "plan", but "rolling" -> "roll" keeps its double l.
    if len(base) >= 3 and base[-1] == base[-2] and base[-1] not in _VOWELS | _NO_UNDOUBLE:
        return base[:-1]
    return base


def _has_vowel(word: str) -> bool:
    return any(ch in _VOWELS for ch in word)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, deterministic suffix stripper (plural s/es/ies, -ing, -ed, final e); not Porter."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ing") and len(word) - 3 >= 3 and _has_vowel(word[:-3]):
        word = _strip_double(word[:-3])
    elif word.endswith("ed") and len(word) - 2 >= 3 and _has_vowel(word[:-2]):
        word = _strip_double(word[:-2])
    elif word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh")) and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    # Dropping a final e makes "manufacture", "manufactured" and "manufacturing" meet.
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


@lru_cache(maxsize=131072)
def token_of(word: str) -> str | None:
    """The token of one folded word, or None for stop words and short noise."""
    if word in STOP_WORDS or (len(word) < 3 and word not in SHORT_KEEP):
        return None
    return stem(word)


def token_forms(text: str) -> dict[str, str]:
    """Token -> the shortest folded surface word seen for it (alphabetical on ties), for display."""
    forms: dict[str, str] = {}
    for word in set(WORD.findall(fold(text))):
        token = token_of(word)
        if token is None:
            continue
        seen = forms.get(token)
        if seen is None or (len(word), word) < (len(seen), seen):
            forms[token] = word
    return forms


def tokens(text: str) -> frozenset[str]:
    """Lowercase, accent-folded, stop-word-free, stemmed tokens of `text`."""
    return frozenset(token_forms(text))


@lru_cache(maxsize=65536)
def phrase_of(entry: str) -> tuple[str, str] | None:
    """(phrase token, display) of a 2-3 word entry such as "smart grids" -> ("smart_grid",
    "smart grids"); None for single words and long sentences, which only give word tokens."""
    words = [word for word in WORD.findall(fold(entry)) if token_of(word) is not None]
    if not 2 <= len(words) <= 3:
        return None
    return PHRASE_JOINER.join(stem(word) for word in words), " ".join(words)


def phrase_forms(entries: Iterable[str]) -> dict[str, str]:
    """Phrase token -> display for the multi-word entries (shortest display on ties).

    "smart grids" gives "smart_grid" besides the words "smart" and "grid", so two organisations
    naming the same field score more than two that merely share the word "smart".
    """
    forms: dict[str, str] = {}
    for entry in entries:
        phrase = phrase_of(entry)
        if phrase is None:
            continue
        token, display = phrase
        seen = forms.get(token)
        if seen is None or (len(display), display) < (len(seen), seen):
            forms[token] = display
    return forms


def expertise_tokens(entries: Iterable[str]) -> frozenset[str]:
    """Word tokens of every entry plus the phrase tokens of the multi-word ones."""
    entries = list(entries)
    return tokens(" ".join(entries)) | frozenset(phrase_forms(entries))


@lru_cache(maxsize=65536)
def token_bit(token: str) -> int:
    """The token's bit (0-255) in a signature; blake2b so it is the same in every process."""
    return hashlib.blake2b(token.encode("utf-8"), digest_size=1).digest()[0]


def signature(token_set: Iterable[str]) -> tuple[int, int, int, int]:
    """A 256-bit hashed set of the tokens as four unsigned 64-bit words (bit b of word w is 64w+b)."""
    value = 0
    for token in token_set:
        value |= 1 << token_bit(token)
    mask = (1 << 64) - 1
    return (value & mask, (value >> 64) & mask, (value >> 128) & mask, (value >> 192) & mask)


def signature_similarity(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Jaccard index of two signatures' bits, the scalar twin of the vectorised score."""
    union = sum((x | y).bit_count() for x, y in zip(a, b, strict=True))
    if not union:
        return 0.0
    return sum((x & y).bit_count() for x, y in zip(a, b, strict=True)) / union
