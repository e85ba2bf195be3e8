"""What each stored object adds to the statistics' counters, the delta of a change, and the figures the
counters give (medians from histograms of whole days)."""

from __future__ import annotations

import pytest

from chalicelib.rules import statistics as rules
from chalicelib.rules.statistics import PROGRAMME, Kind

CREATED = "2026-11-20T09:30:00.000Z"


def registration(**changes) -> dict:
    doc = {
        "id": "reg_1",
        "status": "pending",
        "partnership_id": "epix",
        "organisation": {"type": "sme", "country": "IT", "name": "Acme IoT"},
        "decision": None,
        "created_at": CREATED,
        "version": 1,
    }
    return {**doc, **changes}


def exchange(**changes) -> dict:
    doc = {
        "id": "exc_1",
        "status": "draft",
        "vop": "epix",
        "hop": "ce4big",
        "visitor": {"registration_id": "reg_1", "country": "IT", "ecosystems": ["digital", "health"]},
        "host": {"registration_id": "reg_2", "country": "DE", "ecosystems": ["health", "textiles"]},
        "agreed": None,
        "extension": None,
        "documents": {},
        "version": 1,
    }
    return {**doc, **changes}


def payment(**changes) -> dict:
    doc = {
        "id": "pay_1",
        "status": "calculated",
        "vop": "epix",
        "amount_eur": 830,
        "overdue_since": None,
        "paid_at": None,
        "created_at": "2027-04-17T10:00:00.000Z",
        "version": 1,
    }
    return {**doc, **changes}


# --- contributions ------------------------------------------------------------------------------------


def test_a_pending_registration_counts_by_status_type_and_country_and_has_no_decision_time():
    assert rules.contribution(Kind.REGISTRATION, registration()) == {
        "reg_status#pending": 1,
        "reg_type#sme": 1,
        "reg_country#IT": 1,
    }


def test_a_decided_registration_adds_its_whole_days_to_decision():
    # Given a decision three calendar days after the registration (less than 72 hours later)
    decided = registration(status="accepted", decision={"decision": "accept", "at": "2026-11-23T08:00:00Z"})
    # Then
    assert rules.contribution(Kind.REGISTRATION, decided) == {
        "reg_status#accepted": 1,
        "reg_type#sme": 1,
        "reg_country#IT": 1,
        "reg_decision_days#3": 1,
    }
    same_day = registration(status="rejected", decision={"decision": "reject", "at": "2026-11-20T18:00:00Z"})
    assert rules.contribution(Kind.REGISTRATION, same_day)["reg_decision_days#0"] == 1


def test_a_withdrawn_registration_counts_by_status_only_and_keeps_its_decision_time():
    decision = {"decision": "accept", "at": "2026-11-21T08:00:00Z"}
    withdrawn = registration(status="withdrawn", decision=decision)
    assert rules.contribution(Kind.REGISTRATION, withdrawn) == {
        "reg_status#withdrawn": 1,
        "reg_decision_days#1": 1,
    }


def test_a_draft_counts_by_status_host_country_pair_and_shared_ecosystems():
    assert rules.contribution(Kind.EXCHANGE, exchange()) == {
        "exc_status#draft": 1,
        "exc_host#DE": 1,
        "exc_pair#IT-DE": 1,
        "exc_ecosystem#health": 1,
    }


def test_organisations_sharing_no_ecosystem_count_under_each_of_theirs():
    disjoint = exchange(
        visitor={"country": "IT", "ecosystems": ["digital"]},
        host={"country": "DE", "ecosystems": ["textiles"]},
    )
    counted = rules.contribution(Kind.EXCHANGE, disjoint)
    assert {k for k in counted if k.startswith("exc_ecosystem#")} == {
        "exc_ecosystem#digital",
        "exc_ecosystem#textiles",
    }
    # and summaries written before they carried ecosystems count under none
    bare = exchange(visitor={"country": "IT"}, host={"country": "DE"})
    assert not any(k.startswith("exc_ecosystem#") for k in rules.contribution(Kind.EXCHANGE, bare))


def test_the_agreed_countries_count_once_validated():
    agreed = {"visitor": {"country": "IT"}, "host_country": "AT"}
    counted = rules.contribution(Kind.EXCHANGE, exchange(status="validated", agreed=agreed))
    assert counted["exc_host#AT"] == counted["exc_pair#IT-AT"] == 1
    assert counted["exc_awaiting_signature"] == 1


@pytest.mark.parametrize(
    ("status", "awaiting"),
    [("submitted", False), ("validated", True), ("signed", True), ("ready", False), ("paid", False)],
)
def test_awaiting_signature_is_validated_or_signed(status, awaiting):
    counted = rules.contribution(Kind.EXCHANGE, exchange(status=status))
    assert ("exc_awaiting_signature" in counted) is awaiting


def test_a_cancelled_exchange_counts_by_status_only():
    assert rules.contribution(Kind.EXCHANGE, exchange(status="cancelled")) == {"exc_status#cancelled": 1}


@pytest.mark.parametrize(
    ("changes", "amended"),
    [
        ({}, False),
        ({"extension": {"status": "requested"}}, False),
        ({"extension": {"status": "refused"}}, False),
        ({"extension": {"status": "granted"}}, True),
        ({"documents": {"commitment_to_quality": [{"version": 1}]}}, False),
        ({"documents": {"commitment_to_quality": [{"version": 1}, {"version": 2}]}}, True),
        ({"documents": {"financial_agreement": [{"version": 1}, {"version": 2}]}}, True),
        # the fact stays, whatever became of the exchange
        ({"status": "cancelled", "extension": {"status": "granted"}}, True),
    ],
)
def test_amended_after_validation_is_an_extension_granted_or_an_agreement_generated_again(changes, amended):
    assert ("exc_amended" in rules.contribution(Kind.EXCHANGE, exchange(**changes))) is amended


def test_payments_count_as_due_paid_or_overdue():
    assert rules.contribution(Kind.PAYMENT, payment()) == {"pay_due_count": 1, "pay_due_eur": 830}
    for status in ("instructed", "failed"):
        assert rules.contribution(Kind.PAYMENT, payment(status=status))["pay_due_eur"] == 830
    overdue = payment(status="instructed", overdue_since="2027-04-28")
    assert rules.contribution(Kind.PAYMENT, overdue)["pay_overdue"] == 1
    # Paid (however late), it is no longer due nor overdue, and its days from the approval are counted
    paid = payment(status="paid", overdue_since="2027-04-28", paid_at="2027-04-29")
    assert rules.contribution(Kind.PAYMENT, paid) == {
        "pay_paid_count": 1,
        "pay_paid_eur": 830,
        "pay_paid_days#12": 1,
    }
    assert rules.contribution(Kind.PAYMENT, payment(status="nothing_to_pay", amount_eur=0)) == {}


# --- deltas -------------------------------------------------------------------------------------------


def test_a_change_moves_the_programme_and_the_partnership_by_new_minus_old():
    before = registration()
    after = registration(status="accepted", decision={"decision": "accept", "at": "2026-11-22T08:00:00Z"})
    expected = {"reg_status#pending": -1, "reg_status#accepted": 1, "reg_decision_days#2": 1}
    assert rules.delta(Kind.REGISTRATION, before, after) == {PROGRAMME: expected, "epix": expected}


def test_a_creation_adds_a_removal_subtracts_and_an_edit_that_counts_nothing_moves_nothing():
    created = rules.delta(Kind.PAYMENT, None, payment())
    assert created == {PROGRAMME: {"pay_due_count": 1, "pay_due_eur": 830}, "epix": created[PROGRAMME]}
    removed = rules.delta(Kind.PAYMENT, payment(), None)
    assert removed[PROGRAMME] == {"pay_due_count": -1, "pay_due_eur": -830}
    assert rules.delta(Kind.EXCHANGE, exchange(), exchange(version=2, notes={"x": "y"})) == {}


def test_an_exchange_counts_for_its_visitors_partnership_only():
    assert set(rules.delta(Kind.EXCHANGE, None, exchange())) == {PROGRAMME, "epix"}


def test_the_totals_of_objects_are_the_sums_of_their_contributions():
    objects = [
        (Kind.REGISTRATION, registration()),
        (Kind.REGISTRATION, registration(id="reg_2", partnership_id="ce4big", status="rejected")),
        (Kind.PAYMENT, payment()),
    ]
    totals = rules.total(objects)
    assert totals[PROGRAMME]["reg_type#sme"] == 2 and totals["epix"]["reg_type#sme"] == 1
    assert totals["ce4big"] == {"reg_status#rejected": 1, "reg_type#sme": 1, "reg_country#IT": 1}
    assert totals["epix"]["pay_due_eur"] == 830


# --- figures ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("histogram", "expected"),
    [
        ({}, None),  # none
        ({0: 0}, None),  # a counter back to zero is none
        ({4: 1}, 4.0),  # one
        ({1: 1, 3: 1}, 2.0),  # an even count: the mean of the two middle ones
        ({1: 2, 9: 2}, 5.0),
        ({0: 1, 2: 1, 10: 1}, 2.0),  # an odd count: the middle one
        ({2: 3, 7: 1}, 2.0),  # the middle ones in one day's count
        ({1: 1, 2: 1, 3: 1, 40: 1}, 2.5),
    ],
)
def test_the_median_of_a_histogram_of_whole_days(histogram, expected):
    assert rules.median(histogram) == expected


def test_the_figures_of_counters_leave_zero_counts_out_and_read_the_histograms():
    counters = {
        "reg_status#pending": 2,
        "reg_status#accepted": 0,
        "reg_decision_days#1": 1,
        "reg_decision_days#5": 1,
        "exc_pair#IT-DE": 3,
        "exc_awaiting_signature": 1,
        "pay_paid_count": 2,
        "pay_paid_eur": 1660,
        "pay_paid_days#3": 2,
    }
    shown = rules.figures(counters)
    assert shown["registrations"]["by_status"] == {"pending": 2}
    assert shown["registrations"]["median_days_to_decision"] == 3.0
    assert shown["exchanges"]["by_country_pair"] == {"IT-DE": 3}
    assert shown["exchanges"]["awaiting_signature"] == 1
    assert shown["exchanges"]["amended_after_validation"] == 0
    assert shown["payments"]["paid"] == {"count": 2, "amount_eur": 1660}
    assert shown["payments"]["due"] == {"count": 0, "amount_eur": 0}
    assert shown["payments"]["median_days_report_approval_to_payment"] == 3.0
    # no counters at all: every figure empty or zero, medians unknown
    empty = rules.figures({})
    assert empty["registrations"]["median_days_to_decision"] is None
    assert empty["payments"]["median_days_report_approval_to_payment"] is None
    assert empty["exchanges"]["by_status"] == {}
