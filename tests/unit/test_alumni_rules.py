"""The alumni network's rules: what counts as a completed exchange, what it adds to a participant's
record, who may join, and what an entry shows (nothing personal but the chosen contact)."""

from __future__ import annotations

import pytest

from chalicelib.rules import RuleViolation, alumni
from chalicelib.rules.exchange_flow import ExchangeStatus


def _exchange(status, exchange_id="exc_1", start="2027-04-12"):
    return {
        "id": exchange_id,
        "status": status,
        "start_date": start,
        "visitor": {"registration_id": "reg_v", "country": "IT"},
        "host": {"registration_id": "reg_h", "country": "DE"},
    }


@pytest.mark.parametrize("status", list(ExchangeStatus))
def test_an_exchange_is_completed_once_its_report_is_approved(status):
    completed = status in {"report_approved", "paid", "closed"}
    assert (status in alumni.COMPLETED) is completed
    assert bool(alumni.completed_records("reg_v", [_exchange(status)])) is completed


def test_both_participants_get_the_year_the_host_country_and_their_part():
    done = _exchange("paid")
    assert alumni.completed_records("reg_v", [done]) == [
        {"exchange_id": "exc_1", "year": 2027, "host_country": "DE", "role": "visitor"}
    ]
    assert alumni.completed_records("reg_h", [done])[0]["role"] == "host"
    assert alumni.completed_records("reg_other", [done]) == []


def test_records_add_up_by_exchange_in_year_order_and_never_go():
    first = alumni.completed_records("reg_h", [_exchange("paid", "exc_2", "2028-01-10")])
    second = alumni.completed_records("reg_h", [_exchange("closed", "exc_1", "2027-05-03")])
    both = alumni.with_completed(first, second)
    assert [r["exchange_id"] for r in both] == ["exc_1", "exc_2"]
    assert alumni.with_completed(both, second) == both  # a replayed record changes nothing
    assert alumni.with_completed(both, []) == both


def test_only_a_participant_of_a_completed_exchange_may_join():
    with pytest.raises(RuleViolation) as refused:
        alumni.check_may_join([])
    assert refused.value.code == "NO_COMPLETED_EXCHANGE"
    alumni.check_may_join(alumni.completed_records("reg_v", [_exchange("report_approved")]))


def test_an_entry_shows_the_organisation_its_exchanges_and_the_chosen_contact_only():
    registration = {
        "id": "reg_v",
        "user_id": "user-1",
        "organisation": {"name": "Acme IoT", "country": "IT", "ecosystems": ["digital"], "city": "Padova"},
        "representative": {"first_name": "Ada", "last_name": "Rossi", "email": "ada@acme.example"},
        "exchanges": {"visited": True, "completed": alumni.completed_records("reg_v", [_exchange("paid")])},
        "alumni": {
            "id": "alu_1",
            "public_contact": "alumni@acme.example",
            "created_at": "2027-05-01T10:00:00.000Z",
            "updated_at": "2027-05-01T10:00:00.000Z",
            "version": 1,
        },
    }
    entry = alumni.entry_view(registration)
    assert entry["organisation_name"] == "Acme IoT" and entry["country"] == "IT"
    assert entry["ecosystems"] == ["digital"]
    assert entry["exchanges"] == [{"year": 2027, "host_country": "DE", "role": "visitor"}]
    assert entry["public_contact"] == "alumni@acme.example"
    shown = repr(entry)
    for personal in ("Ada", "Rossi", "ada@acme.example", "user-1", "reg_v", "Padova", "exc_1"):
        assert personal not in shown
