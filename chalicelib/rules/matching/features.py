"""One registration's matching facts as codes and bitsets: the programme's code lists and their bit
positions, lenient parsing of dates and code lists (memoised for the index build), and the
organisation key."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any, NamedTuple

from chalicelib.rules import pairing, text
from chalicelib.rules.matching.card import as_text
from chalicelib.rules.registration import ACCEPTED

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


OPEN_FROM = 0
OPEN_TO = date.max.toordinal() + 1
ECO_BIT = {code: 1 << i for i, code in enumerate(ECOSYSTEMS)}
OBJ_BIT = {code: 1 << i for i, code in enumerate(OBJECTIVES)}
TYPE_INDEX = {code: i for i, code in enumerate(ORGANISATION_TYPES)}
_TYPE_BIT = {code: 1 << i for i, code in enumerate(ORGANISATION_TYPES)}
UNKNOWN_TYPE = len(ORGANISATION_TYPES)
ROLE_BIT = pairing.ROLE_BITS
HOST = pairing.HOST
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
ENTRY_SEP, FIELD_SEP, DOC_SEP = "\x1d", "\x1e", "\x1f"
_SEPARATOR_CHARS = re.compile("[\x1c-\x1f]")

_EMPTY: Mapping[str, Any] = MappingProxyType({})

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


_ROLE_MASKS = _Memo(pairing.role_bits)
_ECO_MASKS = _Memo(_mask_of(ECO_BIT))
_OBJ_MASKS = _Memo(_mask_of(OBJ_BIT))
_TYPE_MASKS = _Memo(_mask_of(_TYPE_BIT))
_UPPER_CODES = _Memo(_codes_of(upper=True))
_LOWER_CODES = _Memo(_codes_of(upper=False))


def ordinal(value: Any) -> int | None:
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


def window(start: Any, end: Any) -> tuple[int, int]:
    lo = ordinal(start)
    hi = ordinal(end)
    lo = OPEN_FROM if lo is None else lo
    hi = OPEN_TO if hi is None else hi
    # A reversed window is a typing slip, not "never available".
    return (hi, lo) if lo > hi else (lo, hi)


def codes(values: Any, upper: bool) -> tuple[str, ...]:
    """Distinct, trimmed, case-normalised codes in sorted order."""
    return (_UPPER_CODES if upper else _LOWER_CODES).of(values, ())


def organisation_key(name: Any, country: Any) -> str:
    """Normalised name and country, so "ACME I.o.T." in IT is the same organisation as "Acme IoT"."""
    return _organisation_key(text.fold(as_text(name)), pairing.country_code(country))


def _organisation_key(folded_name: str, country: str) -> str:
    return f"{_NOT_ALNUM.sub('', folded_name)}|{country}"


def offer_bits(words: Iterable[str]) -> int:
    """Objectives a host's offer text names (folded words in, objective bits out)."""
    bits = 0
    for word in words:
        token = text.token_of(word)
        if token is not None:
            bits |= _KEYWORD_BITS.get(token, 0)
    return bits


class Features(NamedTuple):
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
    open_roles: int  # the roles it may take in a new pairing (rules.pairing)
    periods: tuple[tuple[int, int], ...]
    # name, description, expertise entries and offer in one string, fields split by \x1e and
    # entries by \x1d, so the build folds every registration's text in one call.
    raw_text: str


def _raw_text(name: str, description: str, expertise: list[str], offer: str) -> str:
    raw = FIELD_SEP.join((name, description, ENTRY_SEP.join(expertise), offer))
    if (
        raw.count(FIELD_SEP) != 3
        or raw.count(ENTRY_SEP) != max(len(expertise) - 1, 0)
        or DOC_SEP in raw
        or "\x1c" in raw
    ):
        # A field holds one of the separator characters itself: blank them (rare, hostile input).
        name, description, offer = (_SEPARATOR_CHARS.sub(" ", v) for v in (name, description, offer))
        expertise = [_SEPARATOR_CHARS.sub(" ", entry) for entry in expertise]
        raw = FIELD_SEP.join((name, description, ENTRY_SEP.join(expertise), offer))
    return raw


def features_of(reg: Mapping[str, Any], offer_from_text: bool = True) -> Features:
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
    if roles & HOST:
        offer = objectives
        if offer_from_text:
            offer |= offer_bits(text.WORD.findall(text.fold(offer_text)))

    periods: tuple[tuple[int, int], ...] = ()
    hosting_periods = exchanges.get("hosting_periods")
    if hosting_periods and isinstance(hosting_periods, list | tuple):
        spans = []
        for period in hosting_periods:
            if isinstance(period, dict):
                lo, hi = ordinal(period.get("start")), ordinal(period.get("end"))
                if lo is not None and hi is not None:
                    spans.append((min(lo, hi), max(lo, hi)))
        periods = tuple(spans)

    status = get("status")
    country = org.get("country")
    org_type = org.get("type")
    avail_from, avail_to = window(prefs.get("available_from"), prefs.get("available_to"))
    return Features(
        as_text(get("id")),
        as_text(get("user_id")),
        status is None or status == ACCEPTED,
        roles,
        pairing.country_code(country),
        TYPE_INDEX.get(org_type, UNKNOWN_TYPE) if type(org_type) is str else UNKNOWN_TYPE,
        _ECO_MASKS.of(org.get("ecosystems"), 0),
        _UPPER_CODES.of(prefs.get("countries"), ()),
        _ECO_MASKS.of(prefs.get("ecosystems"), 0),
        _TYPE_MASKS.of(prefs.get("organisation_types"), 0),
        objectives,
        offer,
        _LOWER_CODES.of(rep.get("languages"), ()),
        avail_from,
        avail_to,
        pairing.host_capacity(hosting),
        pairing.open_roles(roles, pairing.has_visited(exchanges)),
        periods,
        _raw_text(as_text(org.get("name")), as_text(org.get("description")), expertise, offer_text),
    )
