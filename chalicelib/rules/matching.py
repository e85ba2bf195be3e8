"""Matching and catalogue over accepted registrations: the public card, an in-memory numpy index built
once per snapshot, weighted vectorised match scores with reasons, and cursor-paged catalogue pages."""

from __future__ import annotations

import gc
import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from chalicelib.rules import text

ECOSYSTEMS: tuple[str, ...] = (
    "aerospace_defence",
    "agri_food",
    "construction",
    "cultural_creative",
    "digital",
    "electronics",
    "energy_intensive",
    "energy_renewables",
    "health",
    "mobility_transport_automotive",
    "proximity_social_economy",
    "retail",
    "textiles",
    "tourism",
)
OBJECTIVES: tuple[str, ...] = (
    "learn_from_cluster",
    "new_markets",
    "technology_uptake",
    "interregional_collaboration",
    "networking",
)
ORGANISATION_TYPES: tuple[str, ...] = (
    "cluster_organisation",
    "scaleup_support",
    "sme",
    "large_company",
    "public_authority",
    "training_provider",
    "university",
)

# The one place the score's make-up is decided; the components are each in [0, 1] and the weights sum
# to 1, so a score is in [0, 1]. Preference components are mutual: what the seeker asked for and what
# the candidate asked for, averaged over the sides that stated a preference.
WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "ecosystems": 0.25,  # Jaccard of the two organisations' ecosystems
        "country": 0.10,  # the other side is in a country one side prefers
        "organisation_type": 0.10,  # the other side is of an organisation type one side prefers
        "preferred_ecosystems": 0.15,  # share of one side's preferred ecosystems the other works in
        "objectives": 0.10,  # share of the visitor's objectives the host states or offers
        "availability": 0.10,  # overlap of the availability windows, relative to the shorter one
        "languages": 0.10,  # at least one language in common
        "text": 0.10,  # similarity of description, expertise and offer (hashed token sets)
    }
)

# Words in a host's offer that count as offering an objective even when not ticked (stemmed on import).
OBJECTIVE_KEYWORDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        objective: frozenset(text.stem(word) for word in words.split())
        for objective, words in {
            "learn_from_cluster": "learn learning mentoring coaching training knowledge practices",
            "new_markets": "market markets export exports internationalisation internationalization",
            "technology_uptake": "technology technologies digitalisation digitalization innovation "
            "automation uptake green",
            "interregional_collaboration": "collaboration cooperation interregional partnership joint",
            "networking": "networking network matchmaking events contacts",
        }.items()
    }
)

_KEYWORD_BITS: Mapping[str, int] = MappingProxyType(
    {
        token: sum(1 << i for i, code in enumerate(OBJECTIVES) if token in OBJECTIVE_KEYWORDS[code])
        for token in frozenset().union(*OBJECTIVE_KEYWORDS.values())
    }
)

# Jaccard of real descriptions rarely passes 0.5, so it is doubled before capping at 1.
TEXT_SCALE = 2.0
# Tokens in more than this share of an index's documents ("cluster", "company") are too common to
# say two organisations are alike; small indexes (tests, a young stage) keep every token.
COMMON_TOKEN_SHARE = 0.2
COMMON_TOKEN_MIN_DOCS = 50
# Catalogue text search tests each row the structured filters let through when they let through
# less than this share of the rows left; otherwise one str.find scan over the concatenated text is
# cheaper (about 0.25 against 0.35 microseconds a row here, and few hits fail the filters).
ROW_SCAN_SHARE = 0.7
MAX_SIMILAR_TOKENS = 3
# One milli-point (scores are rounded to 3 decimals) plus room for floating-point noise.
_PRUNE_MARGIN = 0.0011

_OPEN_FROM = 0
_OPEN_TO = date.max.toordinal() + 1
_ECO_BIT = {code: 1 << i for i, code in enumerate(ECOSYSTEMS)}
_OBJ_BIT = {code: 1 << i for i, code in enumerate(OBJECTIVES)}
_TYPE_INDEX = {code: i for i, code in enumerate(ORGANISATION_TYPES)}
_TYPE_BIT = {code: 1 << i for i, code in enumerate(ORGANISATION_TYPES)}
_UNKNOWN_TYPE = len(ORGANISATION_TYPES)
_ROLE_BIT = {"visitor": 1, "host": 2}
_HOST = _ROLE_BIT["host"]
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_NOT_ALNUM_OR_DOC = re.compile(r"[^0-9a-z\x1f]+")
_ENTRY, _FIELD, _DOC = "\x1d", "\x1e", "\x1f"
_SEPARATOR_CHARS = re.compile("[\x1c-\x1f]")
_WORD_BYTES = bytes(c if chr(c) in "0123456789abcdefghijklmnopqrstuvwxyz\x1f" else 32 for c in range(256))
_WORD_MASK = (1 << 64) - 1

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Match:
    """One match: the candidate's registration id, its score in [0, 1], why, and its catalogue card."""

    id: str
    score: float
    reasons: tuple[str, ...]
    card: dict[str, Any]


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


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def card_from_registration(reg: Mapping[str, Any]) -> dict[str, Any]:
    """The public catalogue card: no contact details, birth date, nationality, motivation, user id
    or coordinates; the representative's name is the only personal data it carries."""
    org = _as_dict(reg.get("organisation"))
    rep = _as_dict(reg.get("representative"))
    prefs = _as_dict(reg.get("preferences"))
    hosting = reg.get("hosting")
    return {
        "id": reg.get("id"),
        "roles": _as_list(reg.get("roles")),
        "partnership_id": reg.get("partnership_id"),
        "organisation": {
            "name": org.get("name"),
            "type": org.get("type"),
            "country": org.get("country"),
            "city": org.get("city"),
            "website": org.get("website"),
            "cluster_name": org.get("cluster_name"),
            "ecosystems": _as_list(org.get("ecosystems")),
            "description": org.get("description"),
            "expertise": _as_list(org.get("expertise")),
        },
        "representative": {"first_name": rep.get("first_name"), "last_name": rep.get("last_name")},
        "languages": _as_list(rep.get("languages")),
        "preferences": {
            "countries": _as_list(prefs.get("countries")),
            "ecosystems": _as_list(prefs.get("ecosystems")),
            "organisation_types": _as_list(prefs.get("organisation_types")),
            "objectives": _as_list(prefs.get("objectives")),
            "available_from": prefs.get("available_from"),
            "available_to": prefs.get("available_to"),
            "virtual_ok": prefs.get("virtual_ok"),
        },
        "hosting": (
            {"capacity": hosting.get("capacity"), "offer": hosting.get("offer")}
            if isinstance(hosting, dict)
            else None
        ),
    }


# Bounded memo tables: registrations repeat the same dates and code lists over and over, so the
# index build works each distinct value out once. Cleared when large so odd input cannot grow them.
_MEMO_LIMIT = 100_000
_ORDINALS: dict[str, int | None] = {}


class _Memo(dict[tuple[Any, ...], Any]):
    """Code list (as a tuple) -> what `compute` makes of it, worked out once per distinct list."""

    def __init__(self, compute: Callable[[tuple[Any, ...]], Any]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: tuple[Any, ...]) -> Any:
        if len(self) >= _MEMO_LIMIT:
            self.clear()
        value = self[key] = self.compute(key)
        return value

    def of(self, value: Any, empty: Any) -> Any:
        """The computed value for a list, `empty` for anything that is not a non-empty list."""
        if not value or not isinstance(value, list | tuple):
            return empty
        try:
            return self[tuple(value)]
        except TypeError:  # an unhashable entry: compute without remembering
            return self.compute(tuple(value))


def _mask_of(table: Mapping[str, int]) -> Callable[[tuple[Any, ...]], int]:
    def compute(codes: tuple[Any, ...]) -> int:
        mask = 0
        for code in codes:
            if isinstance(code, str):
                mask |= table.get(code, 0)
        return mask

    return compute


def _codes_of(upper: bool) -> Callable[[tuple[Any, ...]], tuple[str, ...]]:
    def compute(values: tuple[Any, ...]) -> tuple[str, ...]:
        out = {(v.strip().upper() if upper else v.strip().lower()) for v in values if isinstance(v, str)}
        out.discard("")
        return tuple(sorted(out))

    return compute


_ROLE_MASKS = _Memo(_mask_of(_ROLE_BIT))
_ECO_MASKS = _Memo(_mask_of(_ECO_BIT))
_OBJ_MASKS = _Memo(_mask_of(_OBJ_BIT))
_TYPE_MASKS = _Memo(_mask_of(_TYPE_BIT))
_UPPER_CODES = _Memo(_codes_of(upper=True))
_LOWER_CODES = _Memo(_codes_of(upper=False))


def _ordinal(value: Any) -> int | None:
    if type(value) is str:
        try:
            return _ORDINALS[value]
        except KeyError:
            pass
        try:
            ordinal: int | None = date.fromisoformat(value[:10]).toordinal()
        except ValueError:
            ordinal = None
        if len(_ORDINALS) >= _MEMO_LIMIT:
            _ORDINALS.clear()
        _ORDINALS[value] = ordinal
        return ordinal
    if isinstance(value, date):
        return value.toordinal()
    return None


def _window(start: Any, end: Any) -> tuple[int, int]:
    lo = _ordinal(start)
    hi = _ordinal(end)
    lo = _OPEN_FROM if lo is None else lo
    hi = _OPEN_TO if hi is None else hi
    # A reversed window is a typing slip, not "never available".
    return (hi, lo) if lo > hi else (lo, hi)


def _codes(values: Any, upper: bool) -> tuple[str, ...]:
    """Distinct, trimmed, case-normalised codes in sorted order."""
    return (_UPPER_CODES if upper else _LOWER_CODES).of(values, ())


def organisation_key(name: Any, country: Any) -> str:
    """Normalised name and country, so "ACME I.o.T." in IT is the same organisation as "Acme IoT"."""
    return _organisation_key(text.fold(_as_text(name)), _as_text(country).strip().upper())


def _organisation_key(folded_name: str, country: str) -> str:
    return f"{_NOT_ALNUM.sub('', folded_name)}|{country}"


def _offer_bits(words: Iterable[str]) -> int:
    """Objectives a host's offer text names (folded words in, objective bits out)."""
    bits = 0
    for word in words:
        token = text.token_of(word)
        if token is not None:
            bits |= _KEYWORD_BITS.get(token, 0)
    return bits


class _Features(NamedTuple):
    """What scoring needs from one registration, shared by the index build and the seeker (a
    tuple, so the build turns 100k of them into columns with one zip)."""

    id: str
    user_id: str
    accepted: bool
    roles: int
    country: str
    org_type: int
    eco: int
    pref_countries: tuple[str, ...]
    pref_eco: int
    pref_types: int
    objectives: int
    offer: int
    languages: tuple[str, ...]
    avail_from: int
    avail_to: int
    capacity: int
    visited: bool
    periods: tuple[tuple[int, int], ...]
    # name, description, expertise entries and offer in one string, fields split by \x1e and
    # entries by \x1d, so the build folds every registration's text in one call.
    raw_text: str


def _raw_text(name: str, description: str, expertise: list[str], offer: str) -> str:
    raw = _FIELD.join((name, description, _ENTRY.join(expertise), offer))
    if (
        raw.count(_FIELD) != 3
        or raw.count(_ENTRY) != max(len(expertise) - 1, 0)
        or _DOC in raw
        or "\x1c" in raw
    ):
        # A field holds one of the separator characters itself: blank them (rare, hostile input).
        name, description, offer = (_SEPARATOR_CHARS.sub(" ", v) for v in (name, description, offer))
        expertise = [_SEPARATOR_CHARS.sub(" ", entry) for entry in expertise]
        raw = _FIELD.join((name, description, _ENTRY.join(expertise), offer))
    return raw


def _features(reg: Mapping[str, Any], offer_from_text: bool = True) -> _Features:
    """One registration's scoring facts; the build passes `offer_from_text=False` and adds the
    objectives named in the offer text itself, from text it has already folded in bulk.

    Written for speed (the build calls it 100k times): lenient about shapes, never raising.
    """
    get = reg.get
    org = get("organisation")
    org = org if isinstance(org, dict) else _EMPTY
    rep = get("representative")
    rep = rep if isinstance(rep, dict) else _EMPTY
    prefs = get("preferences")
    prefs = prefs if isinstance(prefs, dict) else _EMPTY
    hosting = get("hosting")
    hosting = hosting if isinstance(hosting, dict) else _EMPTY
    exchanges = get("exchanges")
    exchanges = exchanges if isinstance(exchanges, dict) else _EMPTY
    roles = _ROLE_MASKS.of(get("roles"), 0)
    expertise = org.get("expertise")
    expertise = [e for e in expertise if type(e) is str] if isinstance(expertise, list | tuple) else []
    offer_text = hosting.get("offer")
    offer_text = offer_text if type(offer_text) is str else ""

    objectives = _OBJ_MASKS.of(prefs.get("objectives"), 0)
    offer = 0
    if roles & _HOST:
        offer = objectives
        if offer_from_text:
            offer |= _offer_bits(text.WORD.findall(text.fold(offer_text)))

    capacity = hosting.get("capacity", 1)
    # Absent or malformed means the least a host can take; an explicit 0 means closed.
    capacity = capacity if type(capacity) is int else 1

    periods: tuple[tuple[int, int], ...] = ()
    hosting_periods = exchanges.get("hosting_periods")
    if hosting_periods and isinstance(hosting_periods, list | tuple):
        spans = []
        for period in hosting_periods:
            if isinstance(period, dict):
                lo, hi = _ordinal(period.get("start")), _ordinal(period.get("end"))
                if lo is not None and hi is not None:
                    spans.append((min(lo, hi), max(lo, hi)))
        periods = tuple(spans)

    status = get("status")
    country = org.get("country")
    org_type = org.get("type")
    avail_from, avail_to = _window(prefs.get("available_from"), prefs.get("available_to"))
    return _Features(
        _as_text(get("id")),
        _as_text(get("user_id")),
        status is None or status == "accepted",
        roles,
        country.strip().upper() if type(country) is str else "",
        _TYPE_INDEX.get(org_type, _UNKNOWN_TYPE) if type(org_type) is str else _UNKNOWN_TYPE,
        _ECO_MASKS.of(org.get("ecosystems"), 0),
        _UPPER_CODES.of(prefs.get("countries"), ()),
        _ECO_MASKS.of(prefs.get("ecosystems"), 0),
        _TYPE_MASKS.of(prefs.get("organisation_types"), 0),
        objectives,
        offer,
        _LOWER_CODES.of(rep.get("languages"), ()),
        avail_from,
        avail_to,
        capacity,
        exchanges.get("visited") is True,
        periods,
        _raw_text(_as_text(org.get("name")), _as_text(org.get("description")), expertise, offer_text),
    )


def _seeker_forms(me: _Features) -> dict[str, str]:
    """The seeker's tokens (with display words), from the same text fields the index tokenises."""
    _name, description, expertise, offer = me.raw_text.split(_FIELD)
    entries = expertise.split(_ENTRY) if expertise else []
    forms = text.token_forms(" ".join((description, expertise.replace(_ENTRY, " "), offer)))
    forms.update(text.phrase_forms(entries))
    return forms


def _code_matrix(code_sets: Sequence[tuple[str, ...]], index: Mapping[str, int]) -> npt.NDArray[np.uint64]:
    """(rows, words) uint64 bitsets of code tuples; one word unless there are over 64 codes."""
    width = max(1, (len(index) + 63) // 64)
    memo: dict[tuple[str, ...], int] = {}
    masks = []
    for codes in code_sets:
        mask = memo.get(codes)
        if mask is None:
            mask = 0
            for code in codes:
                mask |= 1 << index[code]
            memo[codes] = mask
        masks.append(mask)
    out = np.zeros((len(masks), width), dtype=np.uint64)
    for w in range(width):
        out[:, w] = np.array([(m >> (64 * w)) & _WORD_MASK for m in masks], dtype=np.uint64)
    return out


def _query_bits(codes: Iterable[str], index: Mapping[str, int], width: int) -> npt.NDArray[np.uint64]:
    mask = 0
    for code in codes:
        if code in index:
            mask |= 1 << index[code]
    return np.array([(mask >> (64 * w)) & _WORD_MASK for w in range(width)], dtype=np.uint64)


def _popcount(values: np.ndarray) -> IntArray:
    return np.bitwise_count(values).astype(np.int64)


def _ratio(num: np.ndarray, den: np.ndarray) -> FloatArray:
    out = np.zeros(np.shape(num), dtype=np.float64)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _month(ordinal: int) -> str:
    return date.fromordinal(ordinal).strftime("%Y-%m")


class _Lookup(dict[Any, int]):
    """A memo table that computes a missing key on first sight (a C-speed hit for the rest)."""

    def __init__(self, compute: Callable[[Any], int]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: Any) -> int:
        value = self[key] = self.compute(key)
        return value


def _word_lists(folded: list[str]) -> list[bytes]:
    """Each folded text's words, space-separated ASCII bytes: one bytes pass over all of them where
    everything but [a-z0-9] becomes a space (as text.WORD would split), far faster than a regex
    per row."""
    return _DOC.join(folded).encode("ascii", "replace").translate(_WORD_BYTES).split(_DOC.encode())


def _word_offer_bits(word: bytes) -> int:
    return _offer_bits((word.decode("ascii"),))


class _Vocabulary:
    """Token ids for the index build, from folded words (ASCII bytes) and expertise entries, each
    token shown by its shortest surface form."""

    def __init__(self) -> None:
        self.token_index: dict[str, int] = {}
        self.display: list[str] = []
        self.words = _Lookup(self._word)
        self.phrases = _Lookup(self._phrase)

    def _add(self, token: str, shown: str) -> int:
        tid = self.token_index.get(token)
        if tid is None:
            tid = self.token_index[token] = len(self.display)
            self.display.append(shown)
        elif (len(shown), shown) < (len(self.display[tid]), self.display[tid]):
            self.display[tid] = shown
        return tid

    def _word(self, word: bytes) -> int:
        surface = word.decode("ascii")
        token = text.token_of(surface)
        return -1 if token is None else self._add(token, surface)

    def _phrase(self, entry: str) -> int:
        phrase = text.phrase_of(entry)
        return -1 if phrase is None else self._add(*phrase)


def _fold_texts(raws: Sequence[str]) -> list[str]:
    """Every registration's raw text folded with whitespace collapsed, as `text.fold_for_search`
    would (keeping the separators), a few passes over two big strings rather than calls per row:
    the ASCII majority only needs lowering."""
    out = list(raws)
    plain = [raw.isascii() for raw in raws]
    for ascii_only in (True, False):
        rows = [row for row, is_plain in enumerate(plain) if is_plain is ascii_only]
        if not rows:
            continue
        blob = _DOC.join([raws[row] for row in rows])
        blob = text.collapse_spaces(blob.lower() if ascii_only else text.fold(blob))
        for row, doc in zip(rows, blob.split(_DOC), strict=True):
            out[row] = doc
    return out


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MatchIndex:
    """Accepted registrations as column arrays, rows in catalogue order (folded name, id).

    Built once per snapshot and shared read-only by every request of a warm Lambda. Cards are made
    on first use and then shared, so callers must not mutate them.
    """

    regs: tuple[Mapping[str, Any], ...]
    ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    sort_keys: list[tuple[str, str]]
    search_blob: str
    search_starts: list[int]  # row r's text is search_blob[starts[r] : starts[r + 1] - 1]
    id_rank: IntArray
    roles: npt.NDArray[np.uint8]
    country: npt.NDArray[np.int16]
    countries: tuple[str, ...]
    country_index: Mapping[str, int]
    org_type: npt.NDArray[np.int8]
    org_code: npt.NDArray[np.int32]
    org_codes: Mapping[str, int]
    eco: npt.NDArray[np.uint16]
    pref_countries: npt.NDArray[np.uint64]
    pref_countries_any: BoolArray
    pref_eco: npt.NDArray[np.uint16]
    pref_types: npt.NDArray[np.uint8]
    objectives: npt.NDArray[np.uint8]
    offer: npt.NDArray[np.uint8]
    languages: npt.NDArray[np.uint64]
    language_index: Mapping[str, int]
    avail_from: IntArray
    avail_to: IntArray
    signatures: npt.NDArray[np.uint64]
    signature_bits: IntArray
    capacity: npt.NDArray[np.int32]
    visited: BoolArray
    period_owner: npt.NDArray[np.int32]
    period_start: IntArray
    period_end: IntArray
    vocabulary: tuple[str, ...]
    token_index: Mapping[str, int]
    token_display: tuple[str, ...]
    token_df: IntArray
    common_tokens: frozenset[str]
    token_offsets: IntArray
    token_ids: npt.NDArray[np.int32]
    positions: Mapping[str, int]
    user_positions: Mapping[str, int]
    _cards: dict[int, dict[str, Any]]

    @classmethod
    def build(cls, regs: Sequence[Mapping[str, Any]]) -> MatchIndex:
        """Index the accepted registrations among `regs` (others are dropped: they never show)."""
        # The build allocates millions of short-lived acyclic objects; cyclic collections meanwhile
        # would only rescan the caller's snapshot again and again (about a fifth of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return cls._build(regs)
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def _build(cls, regs: Sequence[Mapping[str, Any]]) -> MatchIndex:
        kept: list[Mapping[str, Any]] = []
        rows: list[_Features] = []
        seen: set[str] = set()
        for reg in regs:
            f = _features(reg, offer_from_text=False)
            # A repeated id would break cursors (two rows, one sort key): the first one wins.
            if f.accepted and f.id and f.id not in seen:
                seen.add(f.id)
                kept.append(reg)
                rows.append(f)
        n = len(rows)
        cols = (
            _Features(*(list(col) for col in zip(*rows, strict=True)))
            if n
            else _Features(*([] for _ in _Features._fields))
        )
        del rows
        # Split on the one field separator: every row gives exactly 4 fields, in a C-speed pass.
        fields = _FIELD.join(_fold_texts(cols.raw_text)).split(_FIELD) if n else []
        names = [name.strip() for name in fields[0::4]]
        # Catalogue order is the row order, so a page is a contiguous scan from the cursor.
        order = sorted(range(n), key=lambda i: (names[i], cols.id[i]))

        def sort(values: Sequence[Any]) -> list[Any]:
            return [values[i] for i in order]

        def column(values: Sequence[Any], dtype: npt.DTypeLike) -> np.ndarray:
            return np.array(values, dtype=dtype)[np.array(order, dtype=np.int64)] if n else np.zeros(0, dtype)

        kept, names = sort(kept), sort(names)
        ids, user_ids, country_codes = sort(cols.id), sort(cols.user_id), sort(cols.country)
        descriptions, expertises, offers_text = sort(fields[1::4]), sort(fields[2::4]), sort(fields[3::4])
        del fields

        id_rank = np.empty(n, dtype=np.int64)
        id_rank[np.array(sorted(range(n), key=ids.__getitem__), dtype=np.int64)] = np.arange(n)

        countries = tuple(sorted(set(country_codes).union(*cols.pref_countries)))
        country_index = {c: i for i, c in enumerate(countries)}
        languages = tuple(sorted(set().union(*cols.languages)))
        language_index = {lang: i for i, lang in enumerate(languages)}
        # Organisation keys as organisation_key makes them, with one regex pass over all names.
        bare_names = _NOT_ALNUM_OR_DOC.sub("", _DOC.join(names)).split(_DOC) if n else []
        org_keys = [f"{name}|{country}" for name, country in zip(bare_names, country_codes, strict=True)]
        org_codes = {key: code for code, key in enumerate(dict.fromkeys(org_keys))}
        org_code = np.fromiter(map(org_codes.__getitem__, org_keys), dtype=np.int32, count=n)

        # Tokens as compact id lists (not 100k Python sets), from the folded text.
        vocab = _Vocabulary()
        word_lists = _word_lists(
            [f"{d} {e} {o}" for d, e, o in zip(descriptions, expertises, offers_text, strict=True)]
        )
        offer_words = _word_lists(offers_text)
        offer_bits = _Lookup(_word_offer_bits)
        offers = sort(cols.offer)
        host_rows = set(np.flatnonzero(column(cols.roles, np.uint8) & _HOST).tolist())
        lengths: list[int] = []
        flat_ids: list[int] = []
        word_id = vocab.words.__getitem__
        phrase_id = vocab.phrases.__getitem__
        for row, expertise in enumerate(expertises):
            tids = set(map(word_id, word_lists[row].split()))
            if expertise:
                tids.update(map(phrase_id, expertise.split(_ENTRY)))
            tids.discard(-1)
            if row in host_rows:
                for word in set(offer_words[row].split()):
                    offers[row] |= offer_bits[word]
            flat_ids.extend(tids)
            lengths.append(len(tids))

        token_index = vocab.token_index
        vocabulary = tuple(token_index)
        token_ids = np.array(flat_ids, dtype=np.int32)
        token_offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.array(lengths, dtype=np.int64), out=token_offsets[1:])
        token_df = np.bincount(token_ids, minlength=len(vocabulary)).astype(np.int64)
        common_ids = np.zeros(len(vocabulary), dtype=bool)
        if n >= COMMON_TOKEN_MIN_DOCS:
            common_ids = token_df > COMMON_TOKEN_SHARE * n
        common_tokens = frozenset(vocabulary[i] for i in np.flatnonzero(common_ids).tolist())

        # Signatures for every row at once: set bit (row, hash) in an (n, 256) grid, pack to 4 words.
        vocab_bits = np.array([text.token_bit(t) for t in vocabulary], dtype=np.int64)
        doc_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(token_offsets))
        keep = ~common_ids[token_ids]
        grid = np.zeros(n * text.SIGNATURE_BITS, dtype=bool)
        grid[doc_of[keep] * text.SIGNATURE_BITS + vocab_bits[token_ids[keep]]] = True
        packed = np.packbits(grid.reshape(n, text.SIGNATURE_BITS), axis=1, bitorder="little")
        signatures = np.ascontiguousarray(packed).view("<u8").astype(np.uint64).reshape(n, 4)

        owners: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        for row, periods in enumerate(sort(cols.periods)):
            for lo, hi in periods:
                owners.append(row)
                starts.append(lo)
                ends.append(hi)

        search_texts = [
            f"{name}{_FIELD}{d}{_FIELD}{e}"
            for name, d, e in zip(names, descriptions, expertises, strict=True)
        ]
        search_starts = list(accumulate((len(doc) + 1 for doc in search_texts), initial=0))
        positions: dict[str, int] = {}
        for row, reg_id in enumerate(ids):
            positions.setdefault(reg_id, row)
        user_positions: dict[str, int] = {}
        for row, user_id in enumerate(user_ids):
            if user_id:
                user_positions.setdefault(user_id, row)

        pref_countries = _code_matrix(sort(cols.pref_countries), country_index)
        return cls(
            regs=tuple(kept),
            ids=tuple(ids),
            user_ids=tuple(user_ids),
            sort_keys=list(zip(names, ids, strict=True)),
            search_blob=_DOC.join(search_texts),
            search_starts=search_starts,
            id_rank=id_rank,
            roles=column(cols.roles, np.uint8),
            country=np.array([country_index[c] for c in country_codes], dtype=np.int16),
            countries=countries,
            country_index=MappingProxyType(country_index),
            org_type=column(cols.org_type, np.int8),
            org_code=org_code,
            org_codes=MappingProxyType(org_codes),
            eco=column(cols.eco, np.uint16),
            pref_countries=pref_countries,
            pref_countries_any=pref_countries.any(axis=1),
            pref_eco=column(cols.pref_eco, np.uint16),
            pref_types=column(cols.pref_types, np.uint8),
            objectives=column(cols.objectives, np.uint8),
            offer=np.array(offers, dtype=np.uint8),
            languages=_code_matrix(sort(cols.languages), language_index),
            language_index=MappingProxyType(language_index),
            avail_from=column(cols.avail_from, np.int64),
            avail_to=column(cols.avail_to, np.int64),
            signatures=signatures,
            signature_bits=_popcount(signatures).sum(axis=1),
            capacity=column(cols.capacity, np.int32),
            visited=column(cols.visited, bool),
            period_owner=np.array(owners, dtype=np.int32),
            period_start=np.array(starts, dtype=np.int64),
            period_end=np.array(ends, dtype=np.int64),
            vocabulary=vocabulary,
            token_index=MappingProxyType(token_index),
            token_display=tuple(vocab.display),
            token_df=token_df,
            common_tokens=common_tokens,
            token_offsets=token_offsets,
            token_ids=token_ids,
            positions=MappingProxyType(positions),
            user_positions=MappingProxyType(user_positions),
            _cards={},
        )

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"MatchIndex({len(self)} registrations)"

    def position(self, registration_id: str) -> int | None:
        """Row of a registration id, or None when it is not indexed."""
        return self.positions.get(registration_id)

    def position_for_user(self, user_id: str) -> int | None:
        """Row of a user's registration, or None when the user has none indexed."""
        return self.user_positions.get(user_id)

    def card(self, row: int) -> dict[str, Any]:
        """The catalogue card of a row, made on first use (most rows are never shown)."""
        card = self._cards.get(row)
        if card is None:
            card = self._cards[row] = card_from_registration(self.regs[row])
        return card

    def tokens_at(self, row: int) -> frozenset[str]:
        """The token set of a row's description, expertise (with phrases) and offer."""
        ids = self.token_ids[self.token_offsets[row] : self.token_offsets[row + 1]]
        return frozenset(self.vocabulary[i] for i in ids.tolist())

    def _hosts_full(self, window_from: int, window_to: int) -> IntArray:
        """Rows whose hosting periods overlapping the window already fill their capacity."""
        closed = np.flatnonzero(self.capacity <= 0)
        if not len(self.period_owner):
            return closed
        overlapping = (self.period_start <= window_to) & (self.period_end >= window_from)
        owners, counts = np.unique(self.period_owner[overlapping], return_counts=True)
        full = owners[counts >= self.capacity[owners]]
        return np.union1d(closed, full.astype(np.int64))


# Every possible ecosystem / type / objective bitset, so a per-request score table indexed by a
# candidate's bitset replaces arithmetic over 100k rows with one gather.
_ECO_SETS = np.arange(1 << len(ECOSYSTEMS), dtype=np.int64)
_TYPE_SETS = np.arange(1 << len(ORGANISATION_TYPES), dtype=np.int64)
_OBJ_SETS = np.arange(1 << len(OBJECTIVES), dtype=np.int64)


def _share(sets: IntArray, mask: int) -> FloatArray:
    """For each bitset: the share of `mask`'s bits it holds (0 for an empty mask)."""
    if not mask:
        return np.zeros(len(sets))
    return np.bitwise_count(sets & mask) / mask.bit_count()


def _own_share(sets: IntArray, mask: int) -> FloatArray:
    """For each bitset: the share of its own bits that `mask` holds (0 for an empty set)."""
    return _ratio(np.bitwise_count(sets & mask), np.bitwise_count(sets))


@dataclass(slots=True)
class _Seeker:
    """The caller's facts, tokens (with display words) and score tables, made once per request."""

    me: _Features
    forms: dict[str, str]
    org_type_name: str | None
    signature: npt.NDArray[np.uint64]
    signature_bits: int
    languages: npt.NDArray[np.uint64]
    ecosystems: FloatArray  # by candidate ecosystems: Jaccard with mine
    eco_wanted: FloatArray  # by candidate ecosystems: share of my preferred ones
    eco_wants_me: FloatArray  # by candidate preferred ecosystems: share that are mine
    country_wanted: FloatArray  # by candidate country index: one I prefer
    type_wanted: FloatArray  # by candidate type index: one I prefer
    type_wants_me: FloatArray  # by candidate preferred types: holds mine
    offers_mine: FloatArray  # by candidate offer: share of my objectives (I visit)
    mine_offers: FloatArray  # by candidate objectives: share I offer (I host)


def _prepare(index: MatchIndex, me: _Features) -> _Seeker:
    forms = _seeker_forms(me)
    signature = np.array(text.signature(t for t in forms if t not in index.common_tokens), dtype=np.uint64)
    country_wanted = np.zeros(len(index.countries))
    for code in me.pref_countries:
        if code in index.country_index:
            country_wanted[index.country_index[code]] = 1.0
    known_type = me.org_type < _UNKNOWN_TYPE
    return _Seeker(
        me=me,
        forms=forms,
        org_type_name=ORGANISATION_TYPES[me.org_type] if known_type else None,
        signature=signature,
        signature_bits=int(np.bitwise_count(signature).sum()),
        languages=_query_bits(me.languages, index.language_index, index.languages.shape[1]),
        ecosystems=_ratio(np.bitwise_count(_ECO_SETS & me.eco), np.bitwise_count(_ECO_SETS | me.eco)),
        eco_wanted=_share(_ECO_SETS, me.pref_eco),
        eco_wants_me=_own_share(_ECO_SETS, me.eco),
        country_wanted=country_wanted,
        type_wanted=np.array([float(me.pref_types >> i & 1) for i in range(_UNKNOWN_TYPE + 1)]),
        type_wants_me=((_TYPE_SETS >> me.org_type) & 1).astype(np.float64)
        if known_type
        else np.zeros(len(_TYPE_SETS)),
        offers_mine=_share(_OBJ_SETS, me.objectives),
        mine_offers=_own_share(_OBJ_SETS, me.offer),
    )


def _mutual(
    seeker_stated: bool, seeker_sat: FloatArray, cand_stated: BoolArray, cand_sat: FloatArray
) -> FloatArray:
    """Mean satisfaction over the sides that stated a preference (0 when neither did); `cand_sat`
    is 0 wherever the candidate stated none."""
    if not seeker_stated:
        return cand_sat
    return np.where(cand_stated, (seeker_sat + cand_sat) * 0.5, seeker_sat)


def _has_code(bits: npt.NDArray[np.uint64], rows: IntArray, code_idx: int) -> BoolArray:
    """Whether each row's code bitset (countries, languages) holds the code at `code_idx`."""
    if code_idx < 0:
        return np.zeros(len(rows), dtype=bool)
    word = bits[rows, code_idx // 64]
    return ((word >> np.uint64(code_idx % 64)) & np.uint64(1)).astype(bool)


def _component_scores(index: MatchIndex, seeker: _Seeker, rows: IntArray) -> dict[str, FloatArray]:
    """The direction-independent components but text for the candidate rows, each in [0, 1]."""
    me = seeker.me
    eco = index.eco[rows]
    pref_eco = index.pref_eco[rows]
    pref_types = index.pref_types[rows]

    country = _mutual(
        bool(me.pref_countries),
        seeker.country_wanted[index.country[rows]],
        index.pref_countries_any[rows],
        _has_code(index.pref_countries, rows, index.country_index.get(me.country, -1)),
    )
    organisation_type = _mutual(
        bool(me.pref_types),
        seeker.type_wanted[index.org_type[rows]],
        pref_types != 0,
        seeker.type_wants_me[pref_types],
    )
    preferred_ecosystems = _mutual(
        bool(me.pref_eco), seeker.eco_wanted[eco], pref_eco != 0, seeker.eco_wants_me[pref_eco]
    )

    cand_from = index.avail_from[rows]
    cand_to = index.avail_to[rows]
    overlap = np.minimum(cand_to, me.avail_to) - np.maximum(cand_from, me.avail_from) + 1
    # Windows hold at least their first day, so the shorter length is never 0.
    shorter = np.minimum(cand_to - cand_from, me.avail_to - me.avail_from) + 1
    availability = np.clip(overlap / shorter, 0.0, 1.0)

    languages = (index.languages[rows] & seeker.languages).any(axis=1).astype(np.float64)

    return {
        "ecosystems": seeker.ecosystems[eco],
        "country": country,
        "organisation_type": organisation_type,
        "preferred_ecosystems": preferred_ecosystems,
        "availability": availability,
        "languages": languages,
    }


def _text_similarity(index: MatchIndex, seeker: _Seeker, rows: IntArray) -> FloatArray:
    """Jaccard of the hashed token sets (doubled, capped at 1) for the candidate rows."""
    inter = np.bitwise_count(index.signatures[rows] & seeker.signature).sum(axis=1, dtype=np.int64)
    union = index.signature_bits[rows] + seeker.signature_bits - inter
    return np.minimum(inter / np.maximum(union, 1) * TEXT_SCALE, 1.0)


def _shared_interests(index: MatchIndex, seeker: _Seeker, row: int) -> list[str]:
    shared = [t for t in index.tokens_at(row) & seeker.forms.keys() if t not in index.common_tokens]
    # Phrases first, then the rarest words: they say most about why two organisations are alike.
    shared.sort(key=lambda t: (text.PHRASE_JOINER not in t, int(index.token_df[index.token_index[t]]), t))
    picked: list[str] = []
    covered: set[str] = set()
    for token in shared:
        if token in covered:
            continue
        picked.append(index.token_display[index.token_index[token]])
        covered.update(token.split(text.PHRASE_JOINER))
        if len(picked) == MAX_SIMILAR_TOKENS:
            break
    return picked


def _reasons(
    index: MatchIndex, seeker: _Seeker, row: int, seeking_hosts: bool, parts: Mapping[str, float]
) -> tuple[str, ...]:
    """Human-readable reasons, one per component that added to the score, in WEIGHTS order."""
    me = seeker.me
    card = index.card(row)
    org = card["organisation"]
    prefs = card["preferences"]
    out: list[str] = []
    if parts["ecosystems"] > 0:
        shared = [e for e in ECOSYSTEMS if _ECO_BIT[e] & me.eco & int(index.eco[row])]
        if shared:
            out.append(f"shares {'ecosystems' if len(shared) > 1 else 'ecosystem'} {_join(shared)}")
    if parts["country"] > 0:
        country = index.countries[int(index.country[row])]
        if country in me.pref_countries:
            out.append(f"{'host in' if seeking_hosts else 'visitor from'} a preferred country: {country}")
        if me.country in _codes(prefs["countries"], upper=True):
            verb = "welcomes visitors from" if seeking_hosts else "wants to visit"
            out.append(f"{verb} your country: {me.country}")
    if parts["organisation_type"] > 0:
        if me.pref_types >> int(index.org_type[row]) & 1:
            out.append(f"organisation type you prefer: {org['type']}")
        if seeker.org_type_name and int(index.pref_types[row]) >> me.org_type & 1:
            out.append(f"prefers your organisation type: {seeker.org_type_name}")
    if parts["preferred_ecosystems"] > 0:
        wanted = [e for e in ECOSYSTEMS if _ECO_BIT[e] & me.pref_eco & int(index.eco[row])]
        if wanted:
            out.append(f"works in ecosystems you prefer: {', '.join(wanted)}")
        theirs = [e for e in ECOSYSTEMS if _ECO_BIT[e] & int(index.pref_eco[row]) & me.eco]
        if theirs:
            out.append(f"prefers your ecosystems: {', '.join(theirs)}")
    if parts["objectives"] > 0:
        if seeking_hosts:
            got = [o for o in OBJECTIVES if _OBJ_BIT[o] & me.objectives & int(index.offer[row])]
            if got:
                out.append(f"offers your {'objectives' if len(got) > 1 else 'objective'} {_join(got)}")
        else:
            got = [o for o in OBJECTIVES if _OBJ_BIT[o] & me.offer & int(index.objectives[row])]
            if got:
                out.append(f"seeks {_join(got)}, which you offer")
    if parts["availability"] > 0:
        lo = max(me.avail_from, int(index.avail_from[row]))
        hi = min(me.avail_to, int(index.avail_to[row]))
        if lo != _OPEN_FROM and hi != _OPEN_TO:
            out.append(f"available {_month(lo)} to {_month(hi)}")
        elif lo != _OPEN_FROM:
            out.append(f"available from {_month(lo)}")
        elif hi != _OPEN_TO:
            out.append(f"available until {_month(hi)}")
    if parts["languages"] > 0:
        common = sorted(set(me.languages) & set(_codes(card["languages"], upper=False)))
        if common:
            out.append(f"{'common languages' if len(common) > 1 else 'common language'}: {', '.join(common)}")
    if parts["text"] > 0:
        similar = _shared_interests(index, seeker, row)
        if similar:
            out.append(f"similar interests: {', '.join(similar)}")
    return tuple(out)


def best_matches(
    seeker: Mapping[str, Any], index: MatchIndex, limit: int = 20, role: str | None = None
) -> list[Match]:
    """The `limit` best candidates for the seeker's own registration, best first (ties by id).

    A visitor is offered hosts and a host visitors; `role` ("host" or "visitor") keeps only
    candidates of that role. Never offered: the same country, the seeker's own registration or
    organisation, hosts whose hosting periods in the seeker's availability window fill their
    capacity, visitors that have visited; a visitor that has visited is offered no hosts, and a
    seeker whose registration is not accepted is offered nothing.
    """
    if role is not None and role not in _ROLE_BIT:
        raise ValueError(f"unknown role {role!r}")
    me = _features(seeker)
    n = len(index)
    if n == 0 or limit <= 0 or not me.accepted:
        return []
    seek_hosts = bool(me.roles & _ROLE_BIT["visitor"]) and not me.visited and role in (None, "host")
    seek_visitors = bool(me.roles & _HOST) and role in (None, "visitor")
    if not (seek_hosts or seek_visitors):
        return []

    base = index.country != index.country_index.get(me.country, -1)
    org_name = _as_dict(seeker.get("organisation")).get("name")
    my_org = index.org_codes.get(organisation_key(org_name, me.country))
    if my_org is not None:
        base &= index.org_code != my_org
    for own in (index.position(me.id), index.position_for_user(me.user_id) if me.user_id else None):
        if own is not None:
            base[own] = False

    as_host = np.zeros(n, dtype=bool)
    if seek_hosts:
        as_host = base & ((index.roles & np.uint8(_HOST)) != 0)
        as_host[index._hosts_full(me.avail_from, me.avail_to)] = False
    as_visitor = np.zeros(n, dtype=bool)
    if seek_visitors:
        as_visitor = base & ((index.roles & np.uint8(_ROLE_BIT["visitor"])) != 0) & ~index.visited
    rows = np.flatnonzero(as_host | as_visitor)
    if not len(rows):
        return []

    asker = _prepare(index, me)
    parts = _component_scores(index, asker, rows)
    # The objectives component is the only one that depends on who visits whom; a candidate that
    # could go either way is scored in the direction that suits it better.
    if seek_hosts and seek_visitors:
        objective_h = asker.offers_mine[index.offer[rows]]
        objective_v = asker.mine_offers[index.objectives[rows]]
        via_host = as_host[rows] & (~as_visitor[rows] | (objective_h >= objective_v))
        parts["objectives"] = np.where(via_host, objective_h, objective_v)
    elif seek_hosts:
        parts["objectives"] = asker.offers_mine[index.offer[rows]]
        via_host = np.ones(len(rows), dtype=bool)
    else:
        parts["objectives"] = asker.mine_offers[index.objectives[rows]]
        via_host = np.zeros(len(rows), dtype=bool)
    score = np.zeros(len(rows))
    for name, part in parts.items():
        score += WEIGHTS[name] * part

    # Text similarity costs most (256-bit popcounts), so it is computed only for rows that could
    # still reach the top k: a row whose score with a perfect text match stays a milli-point below
    # the k-th best score without text cannot round up to it, so pruning never changes the result.
    k = min(limit, len(rows))
    live = slice(None)
    if len(rows) > k:
        kth_best = np.partition(score, len(rows) - k)[len(rows) - k]
        live = np.flatnonzero(score + WEIGHTS["text"] >= kth_best - _PRUNE_MARGIN)
    parts["text"] = np.zeros(len(rows))
    parts["text"][live] = _text_similarity(index, asker, rows[live])
    score += WEIGHTS["text"] * parts["text"]

    milli = np.clip(np.rint(score * 1000.0), 0, 1000).astype(np.int64)
    # One integer key (score descending, then id) so argpartition alone gives a deterministic top k.
    key = (1000 - milli) * n + index.id_rank[rows]
    top = np.argpartition(key, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    top = top[np.argsort(key[top])]

    matches = []
    for i in top.tolist():
        row = int(rows[i])
        contributed = {name: float(parts[name][i]) for name in WEIGHTS}
        reasons = _reasons(index, asker, row, bool(via_host[i]), contributed)
        matches.append(Match(index.ids[row], int(milli[i]) / 1000.0, reasons, index.card(row)))
    return matches


def encode_cursor(sort_key: tuple[str, str]) -> str:
    """The continuation key after a row: its (folded name, id), not its position."""
    return json.dumps(list(sort_key), ensure_ascii=False, separators=(",", ":"))


def decode_cursor(cursor: str) -> tuple[str, str]:
    """Inverse of `encode_cursor`; ValueError for anything it did not produce."""
    try:
        value = json.loads(cursor)
    except (TypeError, ValueError) as exc:
        raise ValueError("invalid cursor") from exc
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise ValueError("invalid cursor")
    return value[0], value[1]


def _filter_mask(index: MatchIndex, query: CatalogueQuery) -> BoolArray | None:
    """Rows passing the structured filters, or None when there are none (every row passes)."""
    n = len(index)
    conditions: list[BoolArray] = []
    nothing = np.zeros(n, dtype=bool)
    if query.role is not None:
        if query.role not in _ROLE_BIT:
            raise ValueError(f"unknown role {query.role!r}")
        conditions.append((index.roles & np.uint8(_ROLE_BIT[query.role])) != 0)
    if query.country is not None:
        code = index.country_index.get(query.country.strip().upper(), -1)
        conditions.append(index.country == code if code >= 0 else nothing)
    if query.ecosystem is not None:
        bit = _ECO_BIT.get(query.ecosystem, 0)
        conditions.append((index.eco & np.uint16(bit)) != 0 if bit else nothing)
    if query.organisation_type is not None:
        type_idx = _TYPE_INDEX.get(query.organisation_type, -1)
        conditions.append(index.org_type == type_idx if type_idx >= 0 else nothing)
    if query.language is not None:
        lang = index.language_index.get(query.language.strip().lower(), -1)
        conditions.append(_has_code(index.languages, np.arange(n), lang))
    if query.available_from is not None or query.available_to is not None:
        for bound in (query.available_from, query.available_to):
            if bound is not None and _ordinal(bound) is None:
                raise ValueError(f"invalid date {bound!r}")
        lo, hi = _window(query.available_from, query.available_to)
        conditions.append((index.avail_from <= hi) & (index.avail_to >= lo))
    if not conditions:
        return None
    mask = conditions[0]
    for condition in conditions[1:]:
        mask = mask & condition
    return mask


def catalogue_page(
    index: MatchIndex, query: CatalogueQuery, limit: int = 20, after: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Cards matching every filter in (folded organisation name, id) order, starting after `after`.

    Returns the page and the key to pass as `after` for the next one (None on the last page). The
    key names a sort position, not a row, so it stays valid when the index is rebuilt. Raises
    ValueError for a malformed cursor, role or date.
    """
    n = len(index)
    start = bisect_right(index.sort_keys, decode_cursor(after)) if after else 0
    mask = _filter_mask(index, query)
    if limit <= 0 or start >= n:
        return [], None
    needle = text.fold_for_search(query.q) if query.q else ""
    wanted = limit + 1

    if not needle:
        if mask is None:
            found = list(range(start, min(start + wanted, n)))
        else:
            found = (np.flatnonzero(mask[start:])[:wanted] + start).tolist()
    elif mask is not None and np.count_nonzero(mask[start:]) < ROW_SCAN_SHARE * (n - start):
        found = []
        find = index.search_blob.find
        starts = index.search_starts
        for row in (np.flatnonzero(mask[start:]) + start).tolist():
            if find(needle, starts[row], starts[row + 1] - 1) >= 0:
                found.append(row)
                if len(found) == wanted:
                    break
    else:
        found = _scan_blob(index, needle, start, mask, wanted)

    page = found[:limit]
    next_after = encode_cursor(index.sort_keys[page[-1]]) if len(found) > limit else None
    return [index.card(row) for row in page], next_after


def _scan_blob(index: MatchIndex, needle: str, start: int, mask: BoolArray | None, wanted: int) -> list[int]:
    """Rows containing `needle`, in row order, by str.find over the concatenated texts: one C-speed
    scan instead of a Python test per row. The needle holds no separator, so a hit is in one row."""
    blob = index.search_blob
    starts = index.search_starts
    n = len(starts) - 1
    found: list[int] = []
    pos = starts[start]
    while len(found) < wanted:
        hit = blob.find(needle, pos)
        if hit < 0:
            break
        row = bisect_right(starts, hit) - 1
        if mask is None or mask[row]:
            found.append(row)
        if row + 1 >= n:
            break
        pos = starts[row + 1]
    return found
