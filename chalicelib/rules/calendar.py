"""Working days at the host and the one-month limit (RULES.md, "Exchange duration"). Pure: the public
holidays come from the `holidays` package's data, no network.

Working days are Monday to Friday from `start_date` to `end_date` inclusive, minus the public holidays
of the host country on those dates. A holiday on a Saturday or Sunday is not a working day anyway, so
it is neither subtracted again nor listed as skipped.

`holidays` is imported inside `_calendar`, not at module import: its import costs tens of milliseconds
and most requests never count working days. Each country's calendar for a year is built once per
process and kept (`_calendar`'s cache), so a warm Lambda pays for it once.

Decisions:
- The national calendar is used (no region or state): an exchange names the host's country only.
- Kosovo (`XK`) is in the `holidays` package and is used like any other country. A country the package
  does not know gets Monday to Friday only (no holidays), rather than an error.
- Names are the package's English ones (`en_US`) where the country offers them, so a client sees
  "King's Day" rather than "Koningsdag"; otherwise the country's default language.
"""

from __future__ import annotations

import calendar as _gregorian
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

SATURDAY = 5  # date.weekday(): Monday is 0

# Distinct (country, year) calendars kept per process. A stay covers at most two years, so this is
# every country for several years; the bound keeps odd dates sent by clients from growing it forever.
_CALENDAR_CACHE_SIZE = 512

_EMPTY: Mapping[date, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class WorkingDays:
    """How many working days a stay has at the host, and the public holidays that were not counted
    (weekday holidays only, in date order, as (date, name))."""

    count: int
    skipped: tuple[tuple[date, str], ...] = ()

    def skipped_holidays(self) -> list[dict[str, str]]:
        """The skipped holidays as the API shows them: `[{"date": "YYYY-MM-DD", "name": ...}]`."""
        return [{"date": day.isoformat(), "name": name} for day, name in self.skipped]


@lru_cache(maxsize=1)
def _supported_countries() -> frozenset[str]:
    import holidays  # slow import: only when a calendar is needed

    return frozenset(holidays.list_supported_countries())


@lru_cache(maxsize=_CALENDAR_CACHE_SIZE)
def _calendar(country: str, year: int) -> Mapping[date, str]:
    """The public holidays of `country` in `year`, date to name (several names joined by "; ")."""
    if country not in _supported_countries():
        return _EMPTY
    import holidays  # slow import: only when a calendar is needed

    probe = holidays.country_holidays(country)
    language = "en_US" if "en_US" in getattr(probe, "supported_languages", ()) else None
    days = holidays.country_holidays(country, years=year, language=language)
    return MappingProxyType({day: str(name) for day, name in sorted(days.items()) if day.year == year})


def public_holidays(country: str, year: int) -> Mapping[date, str]:
    """The host country's public holidays in a year (empty for a country the calendar does not know)."""
    return _calendar(country.strip().upper(), year)


def working_days(country: str, start: date, end: date) -> WorkingDays:
    """Monday to Friday from `start` to `end` inclusive, minus the public holidays of `country` (the host's
    ISO code) on those days. A reversed range has no working days.

    Meant for a stay, which the one-month rule bounds: callers check `last_allowed_end` first (as
    `exchange.check_exchange` does) so a client's far-apart dates do not build a calendar per year.
    """
    if end < start:
        return WorkingDays(0)
    code = country.strip().upper()
    count = 0
    skipped: list[tuple[date, str]] = []
    day = start
    while True:
        if day.weekday() < SATURDAY:
            name = _calendar(code, day.year).get(day)
            if name is None:
                count += 1
            else:
                skipped.append((day, name))
        if day == end:
            break
        day += timedelta(days=1)
    return WorkingDays(count, tuple(skipped))


def last_allowed_end(start: date) -> date:
    """The last `end_date` a stay starting on `start` may have: "at most one month" means the end is before
    the same day of the next month, or before that month's last day when the day does not exist there
    (2027-03-10 → 2027-04-09; 2027-01-31 → 2027-02-27; 2028-01-31 → 2028-02-28)."""
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    if year > date.max.year:
        return date.max  # the limit lies past the calendar's end
    day = min(start.day, _gregorian.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)
