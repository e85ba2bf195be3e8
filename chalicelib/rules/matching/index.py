"""The in-memory index of accepted registrations: column arrays (numpy) in catalogue order, built once
per snapshot, with the token vocabulary, text signatures and search text, and the lookups by id."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from types import MappingProxyType, SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt

from chalicelib.rules import pairing, text
from chalicelib.rules.matching.card import card_from_registration
from chalicelib.rules.matching.features import (
    DOC_SEP,
    ENTRY_SEP,
    FIELD_SEP,
    HOST,
    Features,
    features_of,
    offer_bits,
)

# Tokens in more than this share of an index's documents ("cluster", "company") are too common to
# say two organisations are alike; small indexes (tests, a young stage) keep every token.
COMMON_TOKEN_SHARE = 0.2
COMMON_TOKEN_MIN_DOCS = 50

_NOT_ALNUM_OR_DOC = re.compile(r"[^0-9a-z\x1f]+")
_WORD_BYTES = bytes(c if chr(c) in "0123456789abcdefghijklmnopqrstuvwxyz\x1f" else 32 for c in range(256))
_WORD_MASK = (1 << 64) - 1

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


def code_matrix(code_sets: Sequence[tuple[str, ...]], index: Mapping[str, int]) -> npt.NDArray[np.uint64]:
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


def query_bits(codes: Iterable[str], index: Mapping[str, int], width: int) -> npt.NDArray[np.uint64]:
    mask = 0
    for code in codes:
        if code in index:
            mask |= 1 << index[code]
    return np.array([(mask >> (64 * w)) & _WORD_MASK for w in range(width)], dtype=np.uint64)


def _popcount(values: np.ndarray) -> IntArray:
    return np.bitwise_count(values).astype(np.int64)


def has_code(bits: npt.NDArray[np.uint64], rows: IntArray, code_idx: int) -> BoolArray:
    """Whether each row's code bitset (countries, languages) holds the code at `code_idx`."""
    if code_idx < 0:
        return np.zeros(len(rows), dtype=bool)
    word = bits[rows, code_idx // 64]
    return ((word >> np.uint64(code_idx % 64)) & np.uint64(1)).astype(bool)


def first_rows(ids: Sequence[str], user_ids: Sequence[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Row of each registration id and each (non-empty) user id, the first where one repeats: what the
    built index and the loaded snapshot both look entries up by."""
    positions: dict[str, int] = {}
    for row, reg_id in enumerate(ids):
        positions.setdefault(reg_id, row)
    user_positions: dict[str, int] = {}
    for row, user_id in enumerate(user_ids):
        if user_id:
            user_positions.setdefault(user_id, row)
    return positions, user_positions


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
    return DOC_SEP.join(folded).encode("ascii", "replace").translate(_WORD_BYTES).split(DOC_SEP.encode())


def _word_offer_bits(word: bytes) -> int:
    return offer_bits((word.decode("ascii"),))


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
        blob = DOC_SEP.join([raws[row] for row in rows])
        blob = text.collapse_spaces(blob.lower() if ascii_only else text.fold(blob))
        for row, doc in zip(rows, blob.split(DOC_SEP), strict=True):
            out[row] = doc
    return out


class Cards:
    """Each row's catalogue card, made on first use (most rows are never shown) and then shared, so
    callers must not mutate them: from the registrations when the index was built here, from their
    JSON when it was loaded from a snapshot (parsing 100k cards up front would cost a cold container
    seconds)."""

    __slots__ = ("_made", "_make", "_n")

    def __init__(self, n: int, make: Callable[[int], dict[str, Any]]) -> None:
        self._n = n
        self._make = make
        self._made: dict[int, dict[str, Any]] = {}

    @classmethod
    def of_registrations(cls, regs: Sequence[Mapping[str, Any]]) -> Cards:
        return cls(len(regs), lambda row: card_from_registration(regs[row]))

    @classmethod
    def of_json(cls, blob: bytes, offsets: Sequence[int]) -> Cards:
        return cls(len(offsets) - 1, lambda row: json.loads(blob[offsets[row] : offsets[row + 1]]))

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, row: int) -> dict[str, Any]:
        card = self._made.get(row)
        if card is None:
            card = self._made[row] = self._make(row)
        return card


def common_token_ids(token_df: IntArray, n: int) -> BoolArray:
    """Tokens too common to tell two organisations apart (none in a small index)."""
    if n >= COMMON_TOKEN_MIN_DOCS:
        return token_df > COMMON_TOKEN_SHARE * n
    return np.zeros(len(token_df), dtype=bool)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class MatchIndex:
    """Accepted registrations as column arrays, rows in catalogue order (folded name, id).

    Built once per snapshot and shared read-only by every request of a warm Lambda. Cards are made
    on first use and then shared, so callers must not mutate them.
    """

    cards: Cards
    ids: tuple[str, ...]
    user_ids: tuple[str, ...]
    sort_keys: list[tuple[str, str]]
    search_blob: str
    search_starts: list[int]  # row r's text is search_blob[starts[r] : starts[r + 1] - 1]
    id_rank: IntArray  # each row's place among the ids in sorted order
    ids_by_rank: tuple[str, ...]  # the ids in sorted order
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
    open_roles: npt.NDArray[np.uint8]  # roles each row may take in a new pairing (rules.pairing)
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
        rows: list[Features] = []
        seen: set[str] = set()
        for reg in regs:
            f = features_of(reg, offer_from_text=False)
            # A repeated id would break cursors (two rows, one sort key): the first one wins.
            if f.accepted and f.id and f.id not in seen:
                seen.add(f.id)
                kept.append(reg)
                rows.append(f)
        n = len(rows)
        # The rows transposed: one list per field of Features, under the field's name.
        columns = zip(*rows, strict=True) if n else ([] for _ in Features._fields)
        cols = SimpleNamespace(
            **{name: list(col) for name, col in zip(Features._fields, columns, strict=True)}
        )
        del rows
        # Split on the one field separator: every row gives exactly 4 fields, in a C-speed pass.
        fields = FIELD_SEP.join(_fold_texts(cols.raw_text)).split(FIELD_SEP) if n else []
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

        by_id = sorted(range(n), key=ids.__getitem__)
        id_rank = np.empty(n, dtype=np.int64)
        id_rank[np.array(by_id, dtype=np.int64)] = np.arange(n)

        countries = tuple(sorted(set(country_codes).union(*cols.pref_countries)))
        country_index = {c: i for i, c in enumerate(countries)}
        languages = tuple(sorted(set().union(*cols.languages)))
        language_index = {lang: i for i, lang in enumerate(languages)}
        # Organisation keys as organisation_key makes them, with one regex pass over all names.
        bare_names = _NOT_ALNUM_OR_DOC.sub("", DOC_SEP.join(names)).split(DOC_SEP) if n else []
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
        host_rows = set(np.flatnonzero(column(cols.roles, np.uint8) & HOST).tolist())
        lengths: list[int] = []
        flat_ids: list[int] = []
        word_id = vocab.words.__getitem__
        phrase_id = vocab.phrases.__getitem__
        for row, expertise in enumerate(expertises):
            tids = set(map(word_id, word_lists[row].split()))
            if expertise:
                tids.update(map(phrase_id, expertise.split(ENTRY_SEP)))
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
        common_ids = common_token_ids(token_df, n)
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
            f"{name}{FIELD_SEP}{d}{FIELD_SEP}{e}"
            for name, d, e in zip(names, descriptions, expertises, strict=True)
        ]
        search_starts = list(accumulate((len(doc) + 1 for doc in search_texts), initial=0))
        positions, user_positions = first_rows(ids, user_ids)

        pref_countries = code_matrix(sort(cols.pref_countries), country_index)
        return cls(
            cards=Cards.of_registrations(tuple(kept)),
            ids=tuple(ids),
            user_ids=tuple(user_ids),
            sort_keys=list(zip(names, ids, strict=True)),
            search_blob=DOC_SEP.join(search_texts),
            search_starts=search_starts,
            id_rank=id_rank,
            ids_by_rank=tuple(ids[i] for i in by_id),
            roles=column(cols.roles, np.uint8),
            country=np.array([country_index[c] for c in country_codes], dtype=np.int16),
            countries=countries,
            country_index=MappingProxyType(country_index),
            org_type=column(cols.org_type, np.int8),
            org_code=org_code,
            org_codes=MappingProxyType(org_codes),
            eco=column(cols.eco, np.uint16),
            pref_countries=pref_countries,
            pref_countries_any=np.asarray(pref_countries.any(axis=1), dtype=bool),
            pref_eco=column(cols.pref_eco, np.uint16),
            pref_types=column(cols.pref_types, np.uint8),
            objectives=column(cols.objectives, np.uint8),
            offer=np.array(offers, dtype=np.uint8),
            languages=code_matrix(sort(cols.languages), language_index),
            language_index=MappingProxyType(language_index),
            avail_from=column(cols.avail_from, np.int64),
            avail_to=column(cols.avail_to, np.int64),
            signatures=signatures,
            signature_bits=_popcount(signatures).sum(axis=1),
            capacity=column(cols.capacity, np.int32),
            open_roles=column(cols.open_roles, np.uint8),
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
        return self.cards[row]

    def tokens_at(self, row: int) -> frozenset[str]:
        """The token set of a row's description, expertise (with phrases) and offer."""
        ids = self.token_ids[self.token_offsets[row] : self.token_offsets[row + 1]]
        return frozenset(self.vocabulary[i] for i in ids.tolist())

    def hosts_full(self, window_from: int, window_to: int) -> BoolArray:
        """Whether each row, as a host, has no room left in the window (rules.pairing.host_full)."""
        overlapping = pairing.overlaps(self.period_start, self.period_end, window_from, window_to)
        taken = np.bincount(self.period_owner[overlapping], minlength=len(self))
        return pairing.host_full(self.capacity, taken)
