"""Match scores and reasons: the weighted components, vectorised over the index, and the top k best
first for a seeker (the pairing rules decide who may be offered at all)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from chalicelib.rules import pairing, text
from chalicelib.rules.matching.card import as_dict
from chalicelib.rules.matching.features import (
    ECO_BIT,
    ECOSYSTEMS,
    ENTRY_SEP,
    FIELD_SEP,
    OBJ_BIT,
    OBJECTIVES,
    OPEN_FROM,
    OPEN_TO,
    ORGANISATION_TYPES,
    ROLE_BIT,
    UNKNOWN_TYPE,
    Features,
    codes,
    features_of,
    organisation_key,
)
from chalicelib.rules.matching.index import BoolArray, FloatArray, IntArray, MatchIndex, has_code, query_bits
from chalicelib.rules.matching.query import MatchPosition

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

# Jaccard of real descriptions rarely passes 0.5, so it is doubled before capping at 1.
TEXT_SCALE = 2.0
MAX_SIMILAR_TOKENS = 3
# One milli-point (scores are rounded to 3 decimals) plus room for floating-point noise.
_PRUNE_MARGIN = 0.0011


@dataclass(frozen=True, slots=True)
class Match:
    """One match: the candidate's registration id, its score in [0, 1], why, and its catalogue card."""

    id: str
    score: float
    reasons: tuple[str, ...]
    card: dict[str, Any]

    @property
    def position(self) -> MatchPosition:
        """Where this match stands in the seeker's ranking, to continue after it."""
        return MatchPosition(round(self.score * 1000), self.id)


def _seeker_forms(me: Features) -> dict[str, str]:
    """The seeker's tokens (with display words), from the same text fields the index tokenises."""
    _name, description, expertise, offer = me.raw_text.split(FIELD_SEP)
    entries = expertise.split(ENTRY_SEP) if expertise else []
    forms = text.token_forms(" ".join((description, expertise.replace(ENTRY_SEP, " "), offer)))
    forms.update(text.phrase_forms(entries))
    return forms


def _ratio(num: np.ndarray, den: np.ndarray) -> FloatArray:
    out = np.zeros(np.shape(num), dtype=np.float64)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _month(ordinal: int) -> str:
    return date.fromordinal(ordinal).strftime("%Y-%m")


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

    me: Features
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


def _prepare(index: MatchIndex, me: Features) -> _Seeker:
    forms = _seeker_forms(me)
    signature = np.array(text.signature(t for t in forms if t not in index.common_tokens), dtype=np.uint64)
    country_wanted = np.zeros(len(index.countries))
    for code in me.pref_countries:
        if code in index.country_index:
            country_wanted[index.country_index[code]] = 1.0
    known_type = me.org_type < UNKNOWN_TYPE
    return _Seeker(
        me=me,
        forms=forms,
        org_type_name=ORGANISATION_TYPES[me.org_type] if known_type else None,
        signature=signature,
        signature_bits=int(np.bitwise_count(signature).sum()),
        languages=query_bits(me.languages, index.language_index, index.languages.shape[1]),
        ecosystems=_ratio(np.bitwise_count(_ECO_SETS & me.eco), np.bitwise_count(_ECO_SETS | me.eco)),
        eco_wanted=_share(_ECO_SETS, me.pref_eco),
        eco_wants_me=_own_share(_ECO_SETS, me.eco),
        country_wanted=country_wanted,
        type_wanted=np.array([float(me.pref_types >> i & 1) for i in range(UNKNOWN_TYPE + 1)]),
        type_wants_me=((_TYPE_SETS >> me.org_type) & 1).astype(np.float64)
        if known_type
        else np.zeros(len(_TYPE_SETS)),
        offers_mine=_share(_OBJ_SETS, me.objectives),
        mine_offers=_own_share(_OBJ_SETS, me.offer),
    )


def _mutual(
    seeker_stated: bool, seeker_sat: FloatArray, cand_stated: BoolArray, cand_sat: FloatArray | BoolArray
) -> FloatArray | BoolArray:
    """Mean satisfaction over the sides that stated a preference (0 when neither did); `cand_sat`
    is 0 wherever the candidate stated none."""
    if not seeker_stated:
        return cand_sat
    return np.where(cand_stated, (seeker_sat + cand_sat) * 0.5, seeker_sat)


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
        has_code(index.pref_countries, rows, index.country_index.get(me.country, -1)),
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
        shared = [e for e in ECOSYSTEMS if ECO_BIT[e] & me.eco & int(index.eco[row])]
        if shared:
            out.append(f"shares {'ecosystems' if len(shared) > 1 else 'ecosystem'} {_join(shared)}")
    if parts["country"] > 0:
        country = index.countries[int(index.country[row])]
        if country in me.pref_countries:
            out.append(f"{'host in' if seeking_hosts else 'visitor from'} a preferred country: {country}")
        if me.country in codes(prefs["countries"], upper=True):
            verb = "welcomes visitors from" if seeking_hosts else "wants to visit"
            out.append(f"{verb} your country: {me.country}")
    if parts["organisation_type"] > 0:
        if me.pref_types >> int(index.org_type[row]) & 1:
            out.append(f"organisation type you prefer: {org['type']}")
        if seeker.org_type_name and int(index.pref_types[row]) >> me.org_type & 1:
            out.append(f"prefers your organisation type: {seeker.org_type_name}")
    if parts["preferred_ecosystems"] > 0:
        wanted = [e for e in ECOSYSTEMS if ECO_BIT[e] & me.pref_eco & int(index.eco[row])]
        if wanted:
            out.append(f"works in ecosystems you prefer: {', '.join(wanted)}")
        theirs = [e for e in ECOSYSTEMS if ECO_BIT[e] & int(index.pref_eco[row]) & me.eco]
        if theirs:
            out.append(f"prefers your ecosystems: {', '.join(theirs)}")
    if parts["objectives"] > 0:
        if seeking_hosts:
            got = [o for o in OBJECTIVES if OBJ_BIT[o] & me.objectives & int(index.offer[row])]
            if got:
                out.append(f"offers your {'objectives' if len(got) > 1 else 'objective'} {_join(got)}")
        else:
            got = [o for o in OBJECTIVES if OBJ_BIT[o] & me.offer & int(index.objectives[row])]
            if got:
                out.append(f"seeks {_join(got)}, which you offer")
    if parts["availability"] > 0:
        lo = max(me.avail_from, int(index.avail_from[row]))
        hi = min(me.avail_to, int(index.avail_to[row]))
        if lo != OPEN_FROM and hi != OPEN_TO:
            out.append(f"available {_month(lo)} to {_month(hi)}")
        elif lo != OPEN_FROM:
            out.append(f"available from {_month(lo)}")
        elif hi != OPEN_TO:
            out.append(f"available until {_month(hi)}")
    if parts["languages"] > 0:
        common = sorted(set(me.languages) & set(codes(card["languages"], upper=False)))
        if common:
            out.append(f"{'common languages' if len(common) > 1 else 'common language'}: {', '.join(common)}")
    if parts["text"] > 0:
        similar = _shared_interests(index, seeker, row)
        if similar:
            out.append(f"similar interests: {', '.join(similar)}")
    return tuple(out)


def _milli(score: FloatArray) -> IntArray:
    """Scores in whole milli-points, as shown (3 decimals) and as ranked."""
    return np.clip(np.rint(score * 1000.0), 0, 1000).astype(np.int64)


def best_matches(
    seeker: Mapping[str, Any],
    index: MatchIndex,
    limit: int = 20,
    role: str | None = None,
    after: MatchPosition | None = None,
) -> list[Match]:
    """The `limit` best candidates for the seeker's own registration, best first (ties by id), or
    the `limit` best after the position `after` in that order.

    Offered: whom rules.pairing lets the seeker pair with (a visitor hosts and a host visitors,
    across a border; a visitor who visited takes no part; a host whose hosting periods fill its
    capacity in the seeker's availability window takes no more), never the seeker's own registration
    or organisation; `role` ("host" or "visitor") keeps only candidates of that role. A seeker whose
    registration is not accepted is offered nothing.
    """
    if role is not None and role not in ROLE_BIT:
        raise ValueError(f"unknown role {role!r}")
    me = features_of(seeker)
    n = len(index)
    if n == 0 or limit <= 0 or not me.accepted:
        return []
    # Who may pair with whom is rules.pairing's, applied to the index's columns.
    seek_hosts = role in (None, "host") and bool(pairing.may_visit(me.open_roles, pairing.HOST))
    seek_visitors = role in (None, "visitor") and bool(pairing.may_visit(pairing.VISITOR, me.open_roles))
    if not (seek_hosts or seek_visitors):
        return []

    base = pairing.transnational(index.country, index.country_index.get(me.country, -1))
    org_name = as_dict(seeker.get("organisation")).get("name")
    my_org = index.org_codes.get(organisation_key(org_name, me.country))
    if my_org is not None:
        base &= index.org_code != my_org
    for own in (index.position(me.id), index.position_for_user(me.user_id) if me.user_id else None):
        if own is not None:
            base[own] = False

    as_host = np.zeros(n, dtype=bool)
    if seek_hosts:
        as_host = base & pairing.may_visit(me.open_roles, index.open_roles)
        as_host &= ~index.hosts_full(me.avail_from, me.avail_to)
    as_visitor = np.zeros(n, dtype=bool)
    if seek_visitors:
        as_visitor = base & pairing.may_visit(index.open_roles, me.open_roles)
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

    # One integer key per row gives the order (score descending, then id): (1000 - milli) * n + the
    # id's rank. A position's key is the same sum with the rank its id would have, so "after the
    # position" is one comparison, whether or not its id is still indexed.
    start = 0
    if after is not None:
        start = (1000 - after.milli) * n + bisect_right(index.ids_by_rank, after.id)

    # Text similarity costs most (256-bit popcounts), so it is computed only for rows that could
    # still reach the top k: a row whose score with a perfect text match stays a milli-point below
    # the k-th best score without text cannot round up to it, so pruning never changes the result.
    # After a position, the k-th best is taken among rows that stay after it even with a perfect
    # text match (text only raises a score), so it bounds the page's k-th best the same way.
    k = min(limit, len(rows))
    live: slice | IntArray = slice(None)
    if len(rows) > k:
        pool = score
        if after is not None:
            pool = score[(1000 - _milli(score + WEIGHTS["text"])) * n + index.id_rank[rows] >= start]
        if len(pool) >= k:
            kth_best = np.partition(pool, len(pool) - k)[len(pool) - k]
            live = np.flatnonzero(score + WEIGHTS["text"] >= kth_best - _PRUNE_MARGIN)
    parts["text"] = np.zeros(len(rows))
    parts["text"][live] = _text_similarity(index, asker, rows[live])
    score += WEIGHTS["text"] * parts["text"]

    milli = _milli(score)
    # argpartition alone then gives a deterministic top k.
    key = (1000 - milli) * n + index.id_rank[rows]
    if after is None:
        top = np.argpartition(key, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    else:
        later = np.flatnonzero(key >= start)
        k = min(limit, len(later))
        if not k:
            return []
        top = later[np.argpartition(key[later], k - 1)[:k]] if k < len(later) else later
    top = top[np.argsort(key[top])]

    matches = []
    for i in top.tolist():
        row = int(rows[i])
        contributed = {name: float(parts[name][i]) for name in WEIGHTS}
        reasons = _reasons(index, asker, row, bool(via_host[i]), contributed)
        matches.append(Match(index.ids[row], int(milli[i]) / 1000.0, reasons, index.card(row)))
    return matches


def matches_page(
    seeker: Mapping[str, Any],
    index: MatchIndex,
    limit: int = 20,
    role: str | None = None,
    after: MatchPosition | None = None,
) -> tuple[list[Match], MatchPosition | None]:
    """One page of the seeker's matches after `after` (from the best when None), and the position to
    continue from (None on the last page)."""
    found = best_matches(seeker, index, limit + 1, role, after)
    page = found[:limit]
    return page, (page[-1].position if len(found) > limit and page else None)
