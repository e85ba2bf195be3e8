"""Working days at the host and the one-month limit (chalicelib.rules.calendar), on real calendars."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from chalicelib.rules.calendar import WorkingDays, last_allowed_end, public_holidays, working_days

ROOT = Path(__file__).resolve().parents[2]

# Working days: Monday to Friday minus the host country's public holidays


def test_a_plain_week_has_five_working_days():
    # 2027-04-12 is a Monday; no Dutch holiday that week.
    assert working_days("NL", date(2027, 4, 12), date(2027, 4, 16)) == WorkingDays(5, ())


def test_kings_day_on_a_tuesday_is_skipped_in_the_netherlands():
    result = working_days("NL", date(2027, 4, 26), date(2027, 4, 30))
    assert result.count == 4
    assert result.skipped == ((date(2027, 4, 27), "King's Day"),)
    assert result.skipped_holidays() == [{"date": "2027-04-27", "name": "King's Day"}]


def test_kings_day_moved_to_the_26th_when_the_27th_is_a_sunday_falls_on_a_saturday_and_is_not_counted_twice():
    # 27 April 2025 is a Sunday, so King's Day is Saturday the 26th; Easter Monday is the 21st.
    assert public_holidays("NL", 2025)[date(2025, 4, 26)] == "King's Day"
    result = working_days("NL", date(2025, 4, 21), date(2025, 4, 27))
    assert result.count == 4  # Tuesday to Friday
    assert result.skipped == ((date(2025, 4, 21), "Easter Monday"),)


def test_kings_day_is_not_a_holiday_in_germany():
    # The host country's calendar decides, not the visitor's.
    assert working_days("DE", date(2027, 4, 26), date(2027, 4, 30)).count == 5


def test_easter_monday_in_germany():
    result = working_days("DE", date(2027, 3, 29), date(2027, 4, 2))
    assert result == WorkingDays(4, ((date(2027, 3, 29), "Easter Monday"),))


def test_good_friday_and_easter_monday_in_germany_over_the_easter_weekend():
    result = working_days("DE", date(2027, 3, 25), date(2027, 3, 30))
    assert result.count == 2  # Thursday 25 and Tuesday 30
    assert [day for day, _ in result.skipped] == [date(2027, 3, 26), date(2027, 3, 29)]


def test_ascension_day_in_belgium():
    result = working_days("BE", date(2027, 5, 3), date(2027, 5, 7))
    assert result == WorkingDays(4, ((date(2027, 5, 6), "Ascension Day"),))


def test_country_code_is_compared_case_and_space_insensitively():
    assert working_days(" be ", date(2027, 5, 3), date(2027, 5, 7)).count == 4


def test_kosovo_has_its_own_calendar():
    # XK is in the holidays package: Independence Day, 17 February (a Wednesday in 2027).
    result = working_days("XK", date(2027, 2, 15), date(2027, 2, 19))
    assert result.count == 4
    assert result.skipped == ((date(2027, 2, 17), "Independence Day"),)


def test_a_country_without_a_calendar_counts_monday_to_friday():
    assert working_days("ZZ", date(2027, 4, 26), date(2027, 4, 30)) == WorkingDays(5, ())
    assert public_holidays("ZZ", 2027) == {}


def test_a_stay_across_new_year_uses_both_years_calendars():
    result = working_days("DE", date(2027, 12, 27), date(2028, 1, 4))
    # 1 January 2028 is a Saturday: not skipped, not counted.
    assert result.skipped == ()
    assert result.count == 7


def test_weekends_are_not_working_days():
    assert working_days("NL", date(2027, 4, 17), date(2027, 4, 18)) == WorkingDays(0, ())


def test_a_single_day():
    assert working_days("NL", date(2027, 4, 12), date(2027, 4, 12)).count == 1
    assert working_days("NL", date(2027, 4, 27), date(2027, 4, 27)).count == 0


def test_a_reversed_range_has_no_working_days():
    assert working_days("NL", date(2027, 4, 16), date(2027, 4, 12)) == WorkingDays(0, ())


def test_exactly_three_working_days_wednesday_to_friday():
    assert working_days("DE", date(2027, 4, 14), date(2027, 4, 16)).count == 3


def test_two_working_days_when_a_holiday_takes_one_of_three():
    # Ascension Day (Thursday 6 May 2027) in Belgium leaves Wednesday and Friday.
    assert working_days("BE", date(2027, 5, 5), date(2027, 5, 7)).count == 2


# The one-month limit


@pytest.mark.parametrize(
    ("start", "last"),
    [
        (date(2027, 3, 10), date(2027, 4, 9)),
        (date(2027, 1, 31), date(2027, 2, 27)),  # no 31 February: the month's end, and before it
        (date(2028, 1, 31), date(2028, 2, 28)),  # leap year: 29 February is the month's end
        (date(2027, 1, 30), date(2027, 2, 27)),
        (date(2027, 1, 28), date(2027, 2, 27)),
        (date(2027, 3, 31), date(2027, 4, 29)),
        (date(2027, 12, 15), date(2028, 1, 14)),  # across the year
        (date(2027, 2, 1), date(2027, 2, 28)),
        (date(9999, 12, 5), date(9999, 12, 31)),  # the limit lies past the calendar: its last day
    ],
)
def test_last_allowed_end(start, last):
    assert last_allowed_end(start) == last


def test_the_last_allowed_day_and_the_day_after_it():
    start = date(2027, 3, 10)
    assert last_allowed_end(start) == date(2027, 4, 9)
    assert date(2027, 4, 9) <= last_allowed_end(start)
    assert date(2027, 4, 10) > last_allowed_end(start)


def test_holidays_is_not_imported_with_the_module():
    code = "import sys, chalicelib.rules.calendar; print('holidays' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
