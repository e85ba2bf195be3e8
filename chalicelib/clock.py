"""The one place that answers "what day is it" for rules, services and the scheduled function: the
clock port's functions, and its production adapter (the real date, or the local stack's pinned one)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from chalicelib import ports
from chalicelib.settings import get_settings


def on_date(moment: datetime, day: date) -> datetime:
    """`moment`'s time of day on `day`: a timestamp whose date follows a pinned business date."""
    if moment.date() == day:
        return moment
    return datetime.combine(day, moment.timetz())


class SystemClock:
    """The real date, unless the local stack pinned one in its clock file (`python -m infra.local
    clock`); in AWS there is no clock file."""

    def __init__(self) -> None:
        self._file_cache: tuple[float, date | None] | None = None

    def _from_clock_file(self, path: str) -> date | None:
        # The local stack's `clock` command writes the file from another process; re-read only when it
        # changes so a request pays one stat(), not a read.
        try:
            mtime = os.stat(path).st_mtime
        except FileNotFoundError:
            return None
        if self._file_cache is None or self._file_cache[0] != mtime:
            with open(path, encoding="utf-8") as handle:
                text = handle.read().strip()
            self._file_cache = (mtime, date.fromisoformat(text) if text else None)
        return self._file_cache[1]

    def today(self) -> date:
        clock_file = get_settings().clock_file
        if clock_file:
            pinned = self._from_clock_file(clock_file)
            if pinned is not None:
                return pinned
        return datetime.now(UTC).date()

    def now(self) -> datetime:
        return on_date(datetime.now(UTC), self.today())


def today() -> date:
    return ports.current().clock.today()


def now() -> datetime:
    """Wall-clock time in UTC for timestamps; its date follows `today()` when the date is pinned."""
    return ports.current().clock.now()


def now_iso() -> str:
    return now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
