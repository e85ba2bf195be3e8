"""The typed exchange: built from the stored document and back without loss, each act a pure method that
returns a new exchange (the one it was called on unchanged), the step taken with what the table's row
causes, and the facts the rules read asked for only where they are read."""

from __future__ import annotations

import copy
from dataclasses import FrozenInstanceError, replace

import pytest

from chalicelib import reference
from chalicelib.errors import Conflict, Forbidden, RuleBroken
from chalicelib.rules.exchange_flow import RENDER, SETTLE, SYNC, ExchangeStatus, Party
from chalicelib.rules.exchange_model import Act, Exchange, ExchangeParties, Facts

AT = "2027-03-01T10:00:00Z"
LATER = "2027-03-02T09:00:00Z"
CTQ, FA = "commitment_to_quality", "financial_agreement"
ACCEPTED = "accepted"
LILLE, BRUSSELS = {"lat": 50.63, "lon": 3.06}, {"lat": 50.85, "lon": 4.35}


def _stored(**changes):
    """An exchange as the store reads it, validated and with both documents generated."""
    doc = {
        "id": "exc_" + "a" * 32,
        "reference": "CXC-2027-000001",
        "status": "validated",
        "version": 7,
        "visitor_user": "u-visitor",
        "host_user": "u-host",
        "vop": "p-vop",
        "hop": "p-hop",
        "contact_request_id": None,
        "visitor": {"registration_id": "reg_v", "organisation_name": "V", "country": "FR", "city": "Lille"},
        "host": {"registration_id": "reg_h", "organisation_name": "H", "country": "BE", "city": "Brussels"},
        "visitor_partnership": {"id": "p-vop", "name": "VOP"},
        "host_partnership": {"id": "p-hop", "name": "HOP"},
        "start_date": "2027-04-12",
        "end_date": "2027-04-16",
        "mode": "physical",
        "objectives": ["technology_uptake"],
        "activities": ["knowledge_sharing"],
        "bank_account": {"holder": "V", "iban": "FR7630006000011234567890189", "bic": None},
        "acted": {"sign_commitment_to_quality": ["HO"]},
        "notes": {},
        "validated_at": AT,
        "agreed": {
            "visitor": {"city": "Lille", "country": "FR", "location": {"lat": 50.63, "lon": 3.06}},
            "host": {"city": "Brussels", "country": "BE", "location": {"lat": 50.85, "lon": 4.35}},
            "distance_km": 95.0,
            "host_country": "BE",
            "start_date": "2027-04-12",
            "end_date": "2027-04-16",
            "working_days": 5,
            "mode": "physical",
        },
        "documents": {
            CTQ: [{"version": 1, "sha256": "c1", "validated_at": AT, "key": "k1"}],
            FA: [{"version": 1, "sha256": "f1", "validated_at": AT, "key": "k2"}],
        },
        "signatures": [
            {"document": CTQ, "version": 1, "sha256": "c1", "party": "HO", "by": "u-host", "at": AT},
        ],
        "uploads": {},
        "created_at": AT,
        "updated_at": AT,
    }
    return {**doc, **changes}


def _act(action, *parties, **args):
    return Act(action, frozenset(parties), "u-actor", LATER, args)


def test_the_stored_document_round_trips():
    doc = _stored(
        signatures=[
            *_stored()["signatures"],
            {**_stored()["signatures"][0], "document": FA, "sha256": "f1", "party": "VO", "scan": "upl_1"},
        ]
    )
    assert Exchange.from_document(copy.deepcopy(doc)).as_document() == doc


def test_the_exchange_is_frozen_and_an_act_returns_a_new_one():
    exchange = Exchange.from_document(_stored())
    with pytest.raises(FrozenInstanceError):
        exchange.status = ExchangeStatus.CANCELLED  # type: ignore[misc]
    act = _act("sign_commitment_to_quality", Party.VO, document=CTQ, sha256="c1")
    signed = exchange.apply(act)
    assert [s.party for s in signed.signatures] == ["HO", "VO"]
    assert [s.party for s in exchange.signatures] == ["HO"]  # unchanged


def test_who_a_person_is_to_the_exchange():
    parties = Exchange.from_document(_stored()).parties
    assert parties.of("u-visitor", None, {"participant"}) == {Party.VO}
    # an officer of a partnership that is both VOP and HOP acts for both
    both = replace(parties, hop="p-vop")
    assert both.of("u-officer", "p-vop", {"partnership"}) == {Party.VOP, Party.HOP}
    # a partnership id without the partnership role is nothing
    assert parties.of("u-officer", "p-vop", {"participant"}) == frozenset()
    # a payment knows the visitor's side only: no host user matches a missing one
    assert ExchangeParties(None, None, "p-vop", None).of("", "p-vop", {"partnership", "finance"}) == {
        Party.VOP,
        Party.FINANCE,
    }


def test_the_last_signature_moves_the_exchange_and_carries_what_is_signed_already():
    # VO, VOP and HOP have signed the CtQ, and VO and VOP the financial agreement before an amendment
    # that left the FA alone: the HO's signature completes the CtQ and the exchange goes on to ready.
    sigs = [
        {"document": CTQ, "version": 1, "sha256": "c1", "party": p, "by": "u", "at": AT}
        for p in ("VO", "VOP", "HOP")
    ] + [
        {"document": FA, "version": 1, "sha256": "f1", "party": p, "by": "u", "at": AT} for p in ("VO", "VOP")
    ]
    exchange = Exchange.from_document(
        _stored(signatures=sigs, acted={"sign_commitment_to_quality": ["HOP", "VO", "VOP"]})
    )
    act = _act("sign_commitment_to_quality", Party.HO, document=CTQ, sha256="c1")
    step = exchange.decide(act)
    change = exchange.apply(act).moved(step, act, before=exchange)
    assert change.exchange.status == ExchangeStatus.READY
    assert change.exchange.acted == {}
    assert change.exchange.updated_at == LATER
    assert change.effects == ()
    assert [s.by for s in change.exchange.signatures if s.party == "HO"] == ["u-actor"]


def test_a_repeat_is_nothing_to_do_and_the_table_refuses_who_may_not():
    exchange = Exchange.from_document(_stored())
    assert exchange.decide(_act("cancel", Party.VO, reason="no")).status == ExchangeStatus.CANCELLED
    # the HO signed already: the same act again is refused as a signature given twice
    with pytest.raises(Conflict):
        exchange.decide(_act("sign_commitment_to_quality", Party.HO, document=CTQ, sha256="c1"))
    with pytest.raises(Forbidden):
        exchange.decide(_act("approve_report", Party.HO))


def test_approval_by_both_partnerships_validates_renders_and_fixes_the_agreed_facts():
    exchange = Exchange.from_document(
        _stored(status="submitted", validated_at=None, agreed=None, documents={}, signatures=[], acted={})
    )
    first = _act("approve", Party.VOP)
    step = exchange.decide(first)
    assert not exchange.needs_facts(first, step)  # one approval of two: nothing is validated yet
    half = exchange.apply(first).moved(step, first, before=exchange)
    assert (half.exchange.status, half.effects, half.exchange.acted) == (
        ExchangeStatus.SUBMITTED,
        (),
        {"approve": ("VOP",)},
    )
    second = _act("approve", Party.HOP)
    step = half.exchange.decide(second)
    assert half.exchange.needs_facts(second, step)
    with pytest.raises(ValueError):  # the facts are the service's to load: never guessed
        half.exchange.moved(step, second, before=half.exchange)
    facts = Facts(
        visitor={"id": "reg_v", "organisation": {"city": "Lille", "country": "FR", "location": LILLE}},
        host={"id": "reg_h", "organisation": {"city": "Brussels", "country": "BE", "location": BRUSSELS}},
        visiting=None,
        reference=reference.reference_data(),
    )  # fmt: skip
    second = replace(second, facts=facts)
    done = half.exchange.apply(second).moved(step, second, before=half.exchange)
    assert done.exchange.status == ExchangeStatus.VALIDATED
    assert done.exchange.validated_at == LATER
    assert done.effects == (RENDER,)
    assert done.exchange.agreed is not None and done.exchange.agreed.host.city == "Brussels"
    assert 80 < done.exchange.agreed.distance_km < 110


def test_the_rows_effects_and_the_visit_taken_in_the_transaction():
    draft = Exchange.from_document(
        _stored(status="draft", acted={"submit": ["HO"]}, validated_at=None, agreed=None, documents={})
    )
    submit = _act("submit", Party.VO)
    change = draft.apply(submit).moved(draft.decide(submit), submit, before=draft)
    assert (change.exchange.status, change.effects, change.take_visit) == (
        ExchangeStatus.SUBMITTED,
        (SYNC,),
        True,
    )
    cancel = _act("cancel", Party.VO, reason="plans changed")
    cancelled = draft.apply(cancel).moved(draft.decide(cancel), cancel, before=draft)
    assert (cancelled.release_visit, cancelled.effects) == (True, (SYNC,))
    assert cancelled.exchange.content["notes"] == {"cancel_reason": "plans changed"}
    report = Exchange.from_document(
        _stored(
            status="report_submitted", uploads={"u": {"id": "u", "kind": "evidence", "status": "accepted"}}
        )
    )
    approve = _act("approve_report", Party.VOP, comment=None)
    approved = report.apply(approve).moved(report.decide(approve), approve, before=report)
    assert approved.effects == (SETTLE, SYNC)
    assert approved.exchange.content["report"]["decision"] == "approve"


def test_an_edit_checks_the_bank_account_and_the_exchange_rules():
    draft = Exchange.from_document(_stored(status="draft", acted={"submit": ["HO"]}))
    with pytest.raises(RuleBroken) as refused:
        draft.apply(_act("edit", Party.VO, bank_account={"holder": "V", "iban": "FR00", "bic": None}))
    assert refused.value.code == "INVALID_IBAN"
    # the agreed fields are checked against the programme's rules, with the registrations as read now
    with pytest.raises(ValueError):
        draft.apply(_act("edit", Party.HO, end_date="2027-04-13"))  # the facts are not loaded
    facts = Facts(
        visitor={"organisation": {"country": "FR"}}, host={"organisation": {"country": "BE"}},
        visiting=None, reference=reference.reference_data(),
    )  # fmt: skip
    edited = draft.apply(replace(_act("edit", Party.HO, end_date="2027-04-19"), facts=facts))
    assert (edited.content["end_date"], edited.content["working_days"], edited.acted) == ("2027-04-19", 6, {})
    with pytest.raises(RuleBroken) as refused:
        draft.apply(replace(_act("edit", Party.HO, end_date="2027-04-13"), facts=facts))  # 2 working days
    assert refused.value.code == "TOO_FEW_WORKING_DAYS"


def test_who_still_has_to_act_is_the_tables_answer():
    from chalicelib.rules.exchange_flow import FLOW
    from chalicelib.services import exchange_mail

    awaited = {t.action for t in FLOW.transitions if t.awaited}
    assert awaited == set(exchange_mail.ASKED_BY)  # every awaited step is worded in the mail
    validated = ExchangeStatus.VALIDATED
    # by status; the mail asks for a decision on an extension only once one is asked for (the row's guard)
    assert FLOW.awaiting(validated, {"sign_commitment_to_quality": ["HO"]}) == {
        *((p, "sign_commitment_to_quality") for p in ("VO", "VOP", "HOP")),
        ("VOP", "grant_extension"),
    }
    # a cancellation or an upload is something a party may do, not something the exchange waits for
    assert FLOW.awaiting(ExchangeStatus.DRAFT) == {("VO", "submit"), ("HO", "submit")}
    assert FLOW.awaiting(ExchangeStatus.COMPLETED) == {("VO", "submit_report")}
    assert FLOW.awaiting(ExchangeStatus.PAID) == set()
