"""The exchange rules (chalicelib.rules.exchange): dates, travel days, parties, plan and warnings."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from chalicelib.reference import reference_data
from chalicelib.rules.exchange import ExchangeFacts, check_exchange

REF = reference_data()

VALID = ExchangeFacts(
    start_date=date(2027, 4, 12),  # Monday
    end_date=date(2027, 4, 16),
    travel_days_before=1,
    travel_days_after=1,
    mode="physical",
    objectives=("technology_uptake",),
    activities=("study_visit", "networking"),
    visitor_country="IT",
    host_country="DE",
)


def check(**changes):
    return check_exchange(replace(VALID, **changes), REF)


def codes(**changes):
    return [v.code for v in check(**changes).violations]


def warning_codes(**changes):
    return [w["code"] for w in check(**changes).warnings]


def test_a_valid_exchange_breaks_no_rule_and_reports_its_working_days():
    result = check()
    assert result.ok
    assert result.violations == []
    assert result.warnings == []
    assert result.working_days.count == 5
    assert result.skipped_holidays() == []


def test_skipped_holidays_are_the_host_countrys():
    # King's Day, Tuesday 27 April 2027, at a Dutch host; the Italian visitor's calendar does not count.
    result = check(host_country="NL", start_date=date(2027, 4, 26), end_date=date(2027, 4, 30))
    assert result.ok
    assert result.working_days.count == 4
    assert result.skipped_holidays() == [{"date": "2027-04-27", "name": "King's Day"}]


# Dates


def test_end_before_start():
    result = check(end_date=date(2027, 4, 11))
    assert [v.code for v in result.violations] == ["END_BEFORE_START"]
    assert result.violations[0].field == "end_date"
    assert result.working_days is None


def test_exactly_three_working_days_are_allowed():
    result = check(start_date=date(2027, 4, 14), end_date=date(2027, 4, 16))
    assert result.ok
    assert result.working_days.count == 3


def test_two_working_days_are_refused():
    assert codes(start_date=date(2027, 4, 15), end_date=date(2027, 4, 16)) == ["TOO_FEW_WORKING_DAYS"]


def test_a_holiday_can_leave_too_few_working_days():
    # Wednesday to Friday around Ascension Day (Thursday 6 May 2027) in Belgium: 2 working days.
    result = check(host_country="BE", start_date=date(2027, 5, 5), end_date=date(2027, 5, 7))
    assert [v.code for v in result.violations] == ["TOO_FEW_WORKING_DAYS"]
    assert "Ascension Day" in result.violations[0].message
    assert result.working_days.count == 2
    assert result.skipped_holidays() == [{"date": "2027-05-06", "name": "Ascension Day"}]


def test_travel_days_do_not_count_as_working_days():
    # Thursday and Friday at the host, with two travel days either side: still too few.
    result = check(
        start_date=date(2027, 4, 15), end_date=date(2027, 4, 16), travel_days_before=2, travel_days_after=2
    )
    assert [v.code for v in result.violations] == ["TOO_FEW_WORKING_DAYS"]


def test_a_weekend_stay_has_no_working_days():
    assert codes(start_date=date(2027, 4, 17), end_date=date(2027, 4, 18)) == ["TOO_FEW_WORKING_DAYS"]


def test_the_last_allowed_day_is_accepted():
    result = check(start_date=date(2027, 3, 10), end_date=date(2027, 4, 9))
    assert result.ok


def test_the_day_after_the_last_allowed_day_is_longer_than_one_month():
    result = check(start_date=date(2027, 3, 10), end_date=date(2027, 4, 10))
    assert [v.code for v in result.violations] == ["LONGER_THAN_ONE_MONTH"]
    assert "2027-04-09" in result.violations[0].message
    assert result.working_days is None


def test_31_january_may_end_on_27_february_not_28_in_a_common_year():
    assert check(start_date=date(2027, 1, 31), end_date=date(2027, 2, 26)).ok
    assert codes(start_date=date(2027, 1, 31), end_date=date(2027, 2, 27)) == []
    assert codes(start_date=date(2027, 1, 31), end_date=date(2027, 2, 28)) == ["LONGER_THAN_ONE_MONTH"]


def test_31_january_may_end_on_28_february_in_a_leap_year():
    assert codes(start_date=date(2028, 1, 31), end_date=date(2028, 2, 28)) == []
    assert codes(start_date=date(2028, 1, 31), end_date=date(2028, 2, 29)) == ["LONGER_THAN_ONE_MONTH"]


def test_far_apart_dates_are_refused_without_counting_every_year():
    result = check(start_date=date(1, 1, 1), end_date=date(9999, 12, 31))
    assert [v.code for v in result.violations] == ["LONGER_THAN_ONE_MONTH"]


# Travel days


@pytest.mark.parametrize("days", [0, 1, 2])
def test_travel_days_from_0_to_2_are_allowed(days):
    assert codes(travel_days_before=days, travel_days_after=days) == []


@pytest.mark.parametrize("days", [-1, 3, True, 1.0, None])
def test_invalid_travel_days(days):
    result = check(travel_days_before=days)
    assert [(v.code, v.field) for v in result.violations] == [("INVALID_TRAVEL_DAYS", "travel_days_before")]


def test_each_invalid_travel_side_is_reported():
    result = check(travel_days_before=3, travel_days_after=-1)
    assert [(v.code, v.field) for v in result.violations] == [
        ("INVALID_TRAVEL_DAYS", "travel_days_before"),
        ("INVALID_TRAVEL_DAYS", "travel_days_after"),
    ]


# Parties


def test_same_country_is_not_transnational():
    assert codes(visitor_country="DE", host_country="DE") == ["SAME_COUNTRY"]


def test_same_country_compared_as_the_pairing_rule_does():
    assert codes(visitor_country=" de ", host_country="DE") == ["SAME_COUNTRY"]


def test_a_visitor_who_already_visited_cannot_visit_again():
    assert codes(visitor_already_visited=True) == ["VISITOR_ALREADY_VISITED"]


# Objectives and activities


def test_at_least_one_objective_is_required():
    result = check(objectives=())
    assert [(v.code, v.field) for v in result.violations] == [("OBJECTIVES_REQUIRED", "objectives")]


def test_unknown_objective():
    result = check(objectives=("technology_uptake", "internship", "internship"))
    assert [v.code for v in result.violations] == ["UNKNOWN_OBJECTIVE"]
    assert result.violations[0].message == "not a known objective: internship"


def test_unknown_activity():
    result = check(activities=("study_visit", "work_placement"))
    assert [(v.code, v.field) for v in result.violations] == [("UNKNOWN_ACTIVITY", "activities")]


def test_activities_may_be_empty():
    assert codes(activities=()) == []


def test_known_activities_can_be_passed_in():
    facts = replace(VALID, activities=("hackathon",))
    assert check_exchange(facts, REF, known_activities=frozenset({"hackathon"})).ok


def test_every_broken_rule_is_reported_in_a_stable_order():
    result = check(
        start_date=date(2027, 4, 15),
        end_date=date(2027, 4, 16),
        travel_days_after=5,
        visitor_country="DE",
        visitor_already_visited=True,
        objectives=(),
        activities=("unpaid_job",),
    )
    assert [v.code for v in result.violations] == [
        "TOO_FEW_WORKING_DAYS",
        "INVALID_TRAVEL_DAYS",
        "SAME_COUNTRY",
        "VISITOR_ALREADY_VISITED",
        "OBJECTIVES_REQUIRED",
        "UNKNOWN_ACTIVITY",
    ]


def test_virtual_exchanges_follow_the_same_duration_rules():
    assert codes(mode="virtual", start_date=date(2027, 4, 15), end_date=date(2027, 4, 16)) == [
        "TOO_FEW_WORKING_DAYS"
    ]


# Warnings: reported, never refused


def test_inside_both_availabilities_no_warning():
    assert (
        warning_codes(
            visitor_available_from=date(2027, 4, 11),
            visitor_available_to=date(2027, 4, 17),
            host_available_from=date(2027, 4, 12),
            host_available_to=date(2027, 4, 16),
        )
        == []
    )


def test_open_ended_availability_windows():
    assert warning_codes(visitor_available_from=date(2027, 1, 1), host_available_to=date(2027, 12, 31)) == []
    assert warning_codes(host_available_from=date(2027, 4, 13)) == ["OUTSIDE_HOST_AVAILABILITY"]
    assert warning_codes(host_available_to=date(2027, 4, 15)) == ["OUTSIDE_HOST_AVAILABILITY"]


def test_outside_the_visitors_availability_counts_the_travel_days():
    # The stay fits the visitor's window, the travel day before it does not.
    result = check(visitor_available_from=date(2027, 4, 12))
    assert result.ok
    assert [w["code"] for w in result.warnings] == ["OUTSIDE_VISITOR_AVAILABILITY"]
    assert set(result.warnings[0]) == {"code", "message"}
    assert warning_codes(visitor_available_from=date(2027, 4, 12), travel_days_before=0) == []


def test_a_virtual_visitor_does_not_travel():
    assert warning_codes(mode="virtual", visitor_available_from=date(2027, 4, 12)) == []


def test_outside_the_hosts_availability():
    assert warning_codes(host_available_from=date(2027, 5, 1)) == ["OUTSIDE_HOST_AVAILABILITY"]


def test_host_over_capacity():
    assert warning_codes(host_capacity=2, host_overlapping_exchanges=1) == []
    result = check(host_capacity=2, host_overlapping_exchanges=2)
    assert result.ok  # a warning, not a refusal
    assert [w["code"] for w in result.warnings] == ["HOST_OVER_CAPACITY"]
    assert warning_codes(host_capacity=0, host_overlapping_exchanges=0) == ["HOST_OVER_CAPACITY"]


def test_all_warnings_together():
    assert warning_codes(
        visitor_available_to=date(2027, 4, 1),
        host_available_to=date(2027, 4, 1),
        host_capacity=1,
        host_overlapping_exchanges=3,
    ) == ["OUTSIDE_VISITOR_AVAILABILITY", "OUTSIDE_HOST_AVAILABILITY", "HOST_OVER_CAPACITY"]


def test_no_availability_warning_on_reversed_dates():
    result = check(end_date=date(2027, 4, 1), host_available_from=date(2027, 4, 5))
    assert [v.code for v in result.violations] == ["END_BEFORE_START"]
    assert result.warnings == []


def test_travel_days_at_the_calendars_edges_do_not_crash():
    first = check(start_date=date(1, 1, 1), end_date=date(1, 1, 5), visitor_available_from=date(1, 1, 1))
    assert first.violations == []
    assert first.warnings == []  # the day before 1 January of year 1 is held at the calendar's start
    last = check(
        start_date=date(9999, 12, 27), end_date=date(9999, 12, 31), visitor_available_to=date(9999, 12, 31)
    )
    assert last.violations == []
    assert last.warnings == []
