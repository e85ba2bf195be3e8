"""The index as the scheduled builder stores it and a container loads it: every column in one `.npz`
(numpy's zip of arrays, read without pickle), strings packed as one UTF-8 run with offsets, cards as
JSON parsed per row on first use. Loading is array copies and a few dict builds, no tokenising,
folding or sorting: a 100k index loads in a fraction of the time its build takes.

A snapshot carries FORMAT_VERSION; a loader refuses any other (bump it whenever what is stored or
what it means changes, and the builder writes a full rebuild under the new version's key).
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Any

import numpy as np

from chalicelib.rules.matching.index import Cards, MatchIndex, common_token_ids, first_rows

FORMAT_VERSION = 1
# Cards are compressed in runs of this many rows: a page inflates one or two runs, not 100k cards.
CARDS_PER_CHUNK = 64

# Columns stored as they are.
_ARRAYS = (
    "id_rank",
    "roles",
    "country",
    "org_type",
    "org_code",
    "eco",
    "pref_countries",
    "pref_eco",
    "pref_types",
    "objectives",
    "offer",
    "languages",
    "avail_from",
    "avail_to",
    "signatures",
    "signature_bits",
    "capacity",
    "open_roles",
    "period_owner",
    "period_start",
    "period_end",
    "token_df",
    "token_offsets",
    "token_ids",
)


class SnapshotFormatError(ValueError):
    """The bytes are not a snapshot this code can read (another format version, or not one at all)."""


def _pack(strings: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    # Offsets count characters, so unpacking slices one decoded string (no decode per item).
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    offsets = np.zeros(len(strings) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    raw = "".join(strings).encode("utf-8", "surrogatepass")
    return np.frombuffer(raw, dtype=np.uint8), offsets


def _unpack(raw: np.ndarray, offsets: np.ndarray) -> list[str]:
    blob = str(memoryview(raw), "utf-8", "surrogatepass")  # decoded in place, no copy of the bytes
    at = offsets.tolist()
    return [blob[a:b] for a, b in pairwise(at)]


def dump(index: MatchIndex) -> bytes:
    """The index as `.npz` bytes (compressed: it travels through S3 on every container's first load)."""
    arrays: dict[str, np.ndarray] = {"format_version": np.array([FORMAT_VERSION], dtype=np.int64)}
    for name in _ARRAYS:
        arrays[name] = np.asarray(getattr(index, name))
    org_keys = sorted(index.org_codes, key=index.org_codes.__getitem__)
    packed = {
        "ids": index.ids,
        "user_ids": index.user_ids,
        "names": [name for name, _id in index.sort_keys],
        "countries": index.countries,
        "org_keys": org_keys,
        "languages_known": tuple(index.language_index),
        "vocabulary": index.vocabulary,
        "token_display": index.token_display,
        "search_blob": [index.search_blob],
    }
    for name, strings in packed.items():
        arrays[f"{name}.utf8"], arrays[f"{name}.offsets"] = _pack(strings)
    arrays["search_starts"] = np.array(index.search_starts, dtype=np.int64)
    cards = [
        json.dumps(index.card(row), ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
        for row in range(len(index))
    ]
    chunks: list[bytes] = []
    lengths = np.fromiter(map(len, cards), dtype=np.int64, count=len(cards))
    ends = np.zeros(len(cards), dtype=np.int64)  # each card's end within its chunk
    for first in range(0, len(cards), CARDS_PER_CHUNK):
        last = min(first + CARDS_PER_CHUNK, len(cards))
        ends[first:last] = np.cumsum(lengths[first:last])
        chunks.append(zlib.compress(b"".join(cards[first:last]), 6))
    arrays["cards.ends"] = ends
    arrays["cards.starts"] = ends - lengths
    arrays["cards.chunks"] = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    arrays["cards.chunk_offsets"] = np.array(
        [0, *np.cumsum([len(c) for c in chunks], dtype=np.int64).tolist()], dtype=np.int64
    )
    out = io.BytesIO()
    # numpy's .npz layout (np.load reads it), but the cards member is stored as is: its chunks are
    # compressed already and inflated one at a time when a card is shown, which is what keeps a
    # cold load fast (inflating every card up front is most of a whole-file decompression).
    with zipfile.ZipFile(out, "w") as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name == "cards.chunks" else zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
    return out.getvalue()


def load(data: bytes) -> MatchIndex:
    """The index stored by `dump`. Raises SnapshotFormatError for any other bytes or version."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            arrays: dict[str, Any] = {name: stored[name] for name in stored.files}
    except (ValueError, OSError, EOFError) as exc:
        raise SnapshotFormatError(f"not an index snapshot: {exc}") from exc
    version = arrays.get("format_version")
    if version is None or version.shape != (1,) or int(version[0]) != FORMAT_VERSION:
        raise SnapshotFormatError(f"snapshot format {version!r}, this code reads {FORMAT_VERSION}")

    def strings(name: str) -> list[str]:
        return _unpack(arrays[f"{name}.utf8"], arrays[f"{name}.offsets"])

    ids = tuple(strings("ids"))
    user_ids = tuple(strings("user_ids"))
    names = strings("names")
    countries = tuple(strings("countries"))
    languages = tuple(strings("languages_known"))
    vocabulary = tuple(strings("vocabulary"))
    n = len(ids)
    id_rank = arrays["id_rank"]
    by_rank = np.argsort(id_rank, kind="stable").tolist()
    positions, user_positions = first_rows(ids, user_ids)
    token_df = arrays["token_df"]
    common = common_token_ids(token_df, n)
    chunk_blob = arrays["cards.chunks"]
    chunk_at = arrays["cards.chunk_offsets"].tolist()
    card_starts = arrays["cards.starts"].tolist()
    card_ends = arrays["cards.ends"].tolist()

    @lru_cache(maxsize=256)
    def chunk(number: int) -> bytes:
        return zlib.decompress(chunk_blob[chunk_at[number] : chunk_at[number + 1]])

    def card(row: int) -> dict[str, Any]:
        return json.loads(chunk(row // CARDS_PER_CHUNK)[card_starts[row] : card_ends[row]])

    columns = {name: arrays[name] for name in _ARRAYS}
    return MatchIndex(
        cards=Cards(n, card),
        ids=ids,
        user_ids=user_ids,
        sort_keys=list(zip(names, ids, strict=True)),
        search_blob=strings("search_blob")[0],
        search_starts=arrays["search_starts"].tolist(),
        ids_by_rank=tuple(ids[i] for i in by_rank),
        countries=countries,
        country_index=MappingProxyType({c: i for i, c in enumerate(countries)}),
        org_codes=MappingProxyType({key: code for code, key in enumerate(strings("org_keys"))}),
        pref_countries_any=columns["pref_countries"].any(axis=1),
        language_index=MappingProxyType({lang: i for i, lang in enumerate(languages)}),
        vocabulary=vocabulary,
        token_index=MappingProxyType({token: i for i, token in enumerate(vocabulary)}),
        token_display=tuple(strings("token_display")),
        common_tokens=frozenset(vocabulary[i] for i in np.flatnonzero(common).tolist()),
        positions=MappingProxyType(positions),
        user_positions=MappingProxyType(user_positions),
        **columns,
    )
