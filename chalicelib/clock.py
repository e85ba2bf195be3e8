"""The one place that answers "what day is it" for rules, services and the scheduled function."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

from chalicelib.settings import get_settings

_override: date | None = None
_ahead = timedelta(0)
_file_cache: tuple[float, date | None] | None = None


def set_today(value: date | None) -> None:
    """Pin the business date in this process (tests); None returns to the real date."""
    global _override
    _override = value


def run_ahead(by: timedelta | None) -> None:
    """Move this process's wall clock on by `by` (tests: a lease or a backoff running out); None resets."""
    global _ahead
    _ahead = _ahead + by if by is not None else timedelta(0)


def _from_clock_file(path: str) -> date | None:
    # The local stack's `clock` command writes the file from another process; re-read only when it
    # changes so a request pays one stat(), not a read.
    global _file_cache
    try:
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    if _file_cache is None or _file_cache[0] != mtime:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
        _file_cache = (mtime, date.fromisoformat(text) if text else None)
    return _file_cache[1]


def today() -> date:
    if _override is not None:
        return _override
    clock_file = get_settings().clock_file
    if clock_file:
        pinned = _from_clock_file(clock_file)
        if pinned is not None:
            return pinned
    return datetime.now(UTC).date()


def now() -> datetime:
    """Wall-clock time in UTC for timestamps; its date follows `today()` when the date is pinned."""
    real = datetime.now(UTC) + _ahead
    pinned = today()
    if pinned == real.date():
        return real
    return datetime.combine(pinned, real.timetz())


def now_iso() -> str:
    return now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
