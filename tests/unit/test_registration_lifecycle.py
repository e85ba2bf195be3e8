"""A registration's life after it is made: deciding and what withdrawal keeps."""

from __future__ import annotations

import pytest

from chalicelib.rules import RuleViolation
from chalicelib.rules.registration import (
    ACCEPTED,
    REJECTED,
    WITHDRAWN,
    check_decision,
    pseudonym,
    withdrawn,
)

REGISTRATION = {
    "id": "reg_" + "a" * 32,
    "user_id": "user-1",
    "status": ACCEPTED,
    "roles": ["visitor"],
    "partnership_id": "epix",
    "organisation": {
        "name": "Acme IoT",
        "type": "sme",
        "country": "IT",
        "city": "Padova",
        "location": {"lat": 45.41, "lon": 11.88},
        "cluster_name": "Veneto ICT Cluster",
        "website": "https://acme.example/~ada",
        "ecosystems": ["digital"],
        "description": "Founded by Ada Rossi.",
        "expertise": ["iot"],
    },
    "representative": {
        "first_name": "Ada",
        "last_name": "Rossi",
        "languages": ["it"],
        "email": "ada@acme.example",
        "date_of_birth": "1990-05-01",
        "nationality": "IT",
    },
    "motivation": "Ada wants to learn.",
    "preferences": {"countries": ["DE"]},
    "hosting": {"capacity": 1, "offer": "Call Ada on +39 000"},
    "cv": {"status": "accepted", "key": "cv/x/y.pdf"},
    "decision": {"decision": "accept", "reason": None, "by": "officer-1", "at": "2026-11-20T10:00:00.000Z"},
    "exchanges": {"visited": False},
    "alumni": {"id": "alu_1", "public_contact": "ada@acme.example", "version": 1},
    "created_at": "2026-11-01T10:00:00.000Z",
    "updated_at": "2026-11-20T10:00:00.000Z",
    "version": 3,
}


@pytest.mark.parametrize("status", [ACCEPTED, REJECTED, WITHDRAWN])
def test_a_decision_is_final(status):
    # Only a pending registration is decided (see the table-driven tests in test_lifecycles.py).
    from chalicelib.errors import Conflict
    from chalicelib.rules.registration import LIFECYCLE

    with pytest.raises(Conflict) as caught:
        LIFECYCLE.check(status, "accept", {"partnership"})
    assert caught.value.code == "NOT_PENDING"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_rejecting_without_a_reason_breaks_the_rule(reason):
    with pytest.raises(RuleViolation) as caught:
        check_decision("reject", reason)
    assert caught.value.code == "REASON_REQUIRED"
    assert caught.value.field == "reason"


def test_accepting_needs_no_reason():
    check_decision("accept", None)
    check_decision("reject", "not a cluster member")


def test_pseudonym_is_stable_and_hides_the_user_id():
    assert pseudonym("user-1") == pseudonym("user-1")
    assert pseudonym("user-1") != pseudonym("user-2")
    assert "user-1" not in pseudonym("user-1")
    assert pseudonym("user-1").startswith("pseudo_")


def test_withdrawal_erases_people_and_keeps_the_organisation_decision_and_exchanges():
    kept = withdrawn(REGISTRATION, "2026-11-21T09:00:00.000Z")
    assert kept["status"] == WITHDRAWN
    assert kept["user_id"] == pseudonym("user-1")
    assert kept["representative"] == {"first_name": "erased", "last_name": "erased", "languages": []}
    assert kept["motivation"] == "erased"
    assert kept["hosting"] is None and kept["preferences"] is None and kept["cv"] is None
    assert kept["alumni"] is None  # out of the alumni directory, its chosen contact gone
    assert kept["organisation"] == {
        "name": "Acme IoT",
        "type": "sme",
        "country": "IT",
        "city": "Padova",
        "location": {"lat": 45.41, "lon": 11.88},
        "cluster_name": "Veneto ICT Cluster",
    }
    assert kept["decision"] == REGISTRATION["decision"]
    assert kept["exchanges"] == REGISTRATION["exchanges"]
    assert kept["erased_at"] == kept["updated_at"] == "2026-11-21T09:00:00.000Z"
    assert kept["version"] == 3  # the store writes it on condition of the version read
    assert "Ada" not in repr(kept) and "ada@" not in repr(kept)
    assert REGISTRATION["representative"]["email"] == "ada@acme.example"  # the input is untouched
