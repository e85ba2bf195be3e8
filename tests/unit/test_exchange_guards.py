"""The exchange's guards: which row checks what (written out here, so "when is X checked" is answered
by the table and this test), what each guard refuses with its served code, and that the engine applies
them when a step is taken, in order, and not on a repeat."""

from __future__ import annotations

import pytest

from chalicelib.errors import Conflict, RuleBroken
from chalicelib.rules import exchange_guards as guards
from chalicelib.rules.exchange_flow import FLOW
from chalicelib.rules.exchange_flow import ExchangeStatus as E

AT = "2027-03-01T10:00:00Z"
SIGNING = ("document_generated", "current_version")

# action -> the guards of its rows, in the order they are checked (every row of an action has the same).
EXPECTED = {
    "submit": ("bank_account_given",),
    "request_changes": ("comment_given",),
    "sign_commitment_to_quality": SIGNING,
    "sign_financial_agreement": SIGNING,
    "upload_signed_scan": ("room_for_uploads", "document_generated"),
    "request_extension": ("no_extension_pending", "later_end_date"),
    "grant_extension": ("extension_requested",),
    "refuse_extension": ("extension_requested", "comment_given"),
    "upload_evidence": ("room_for_uploads",),
    "approve_report": ("evidence_accepted",),
    "reject_report": ("comment_given",),
}


def test_the_table_names_the_guards_of_each_row():
    declared = {t.action: tuple(g.name for g in t.guards) for t in FLOW.transitions if t.guards}
    assert declared == EXPECTED
    for t in FLOW.transitions:
        assert tuple(g.name for g in t.guards) == EXPECTED.get(t.action, ()), t
    # and what a repeated signature answers
    assert {t.action: t.on_repeat.code for t in FLOW.transitions if t.on_repeat} == {
        "sign_commitment_to_quality": "ALREADY_SIGNED",
        "sign_financial_agreement": "ALREADY_SIGNED",
    }


def test_the_table_states_the_codes_its_guards_answer():
    refusals = FLOW.refusals()
    assert refusals[RuleBroken] >= {
        "BANK_ACCOUNT_REQUIRED",
        "COMMENT_REQUIRED",
        "TOO_MANY_UPLOADS",
        "EXTENSION_NOT_LATER",
        "EVIDENCE_REQUIRED",
    }
    assert refusals[Conflict] >= {
        "INVALID_STATUS",
        "DOCUMENT_NOT_READY",
        "STALE_DOCUMENT",
        "ALREADY_SIGNED",
        "EXTENSION_PENDING",
        "NO_EXTENSION_REQUESTED",
    }


def _documents(**changes):
    return {
        "validated_at": AT,
        "documents": {
            "commitment_to_quality": [{"version": 2, "sha256": "c2", "validated_at": AT}],
            "financial_agreement": [{"version": 1, "sha256": "f1", "validated_at": "2027-02-01T00:00:00Z"}],
        },
        **changes,
    }


EVIDENCE = {"kind": "evidence", "status": "accepted"}
FULL = {"uploads": {f"u{i}": {} for i in range(guards.MAX_UPLOADS)}}
ROOM = {"uploads": {f"u{i}": {} for i in range(guards.MAX_UPLOADS - 1)}}
CTQ = "commitment_to_quality"
REJECTED = {"uploads": {"u": {**EVIDENCE, "status": "rejected"}}}
A_SCAN = {"uploads": {"u": {**EVIDENCE, "kind": "signed_scan"}}}
# (guard, exchange, arguments, the code it refuses with or None when it holds)
CASES = [
    (guards.bank_account_given, {}, {}, "BANK_ACCOUNT_REQUIRED"),
    (guards.bank_account_given, {"bank_account": None}, {}, "BANK_ACCOUNT_REQUIRED"),
    (guards.bank_account_given, {"bank_account": {"iban": "DE89370400440532013000"}}, {}, None),
    (guards.CHANGES_EXPLAINED, {}, {"comment": "  "}, "COMMENT_REQUIRED"),
    (guards.CHANGES_EXPLAINED, {}, {"comment": None}, "COMMENT_REQUIRED"),
    (guards.CHANGES_EXPLAINED, {}, {"comment": "Add a plan."}, None),
    (guards.room_for_uploads, FULL, {}, "TOO_MANY_UPLOADS"),
    (guards.room_for_uploads, ROOM, {}, None),
    (guards.document_generated, _documents(), {"document": "commitment_to_quality"}, None),
    # the financial agreement was last rendered for an earlier validation: not the one to sign now
    (guards.document_generated, _documents(), {"document": "financial_agreement"}, "DOCUMENT_NOT_READY"),
    (guards.document_generated, {}, {"document": "commitment_to_quality"}, "DOCUMENT_NOT_READY"),
    (guards.current_version, _documents(), {"document": CTQ, "sha256": "c2"}, None),
    (guards.current_version, _documents(), {"document": CTQ, "sha256": "c1"}, "STALE_DOCUMENT"),
    (guards.no_extension_pending, {}, {}, None),
    (guards.no_extension_pending, {"extension": {"status": "refused"}}, {}, None),
    (guards.no_extension_pending, {"extension": {"status": "requested"}}, {}, "EXTENSION_PENDING"),
    (guards.later_end_date, {"end_date": "2027-04-16"}, {"end_date": "2027-04-17"}, None),
    (guards.later_end_date, {"end_date": "2027-04-16"}, {"end_date": "2027-04-16"}, "EXTENSION_NOT_LATER"),
    (guards.extension_requested, {"extension": {"status": "requested"}}, {}, None),
    (guards.extension_requested, {"extension": {"status": "granted"}}, {}, "NO_EXTENSION_REQUESTED"),
    (guards.extension_requested, {}, {}, "NO_EXTENSION_REQUESTED"),
    (guards.evidence_accepted, {"uploads": {"u": EVIDENCE}}, {}, None),
    (guards.evidence_accepted, REJECTED, {}, "EVIDENCE_REQUIRED"),
    (guards.evidence_accepted, A_SCAN, {}, "EVIDENCE_REQUIRED"),
    (guards.evidence_accepted, {}, {}, "EVIDENCE_REQUIRED"),
]  # fmt: skip


@pytest.mark.parametrize(("guard", "doc", "args", "code"), CASES, ids=lambda c: getattr(c, "name", None))
def test_each_guard_holds_or_refuses_with_its_code(guard, doc, args, code):
    refusal = guard.refuse(doc, args)
    if code is None:
        assert refusal is None
    else:
        assert (type(refusal), refusal.code) == (guard.refusal, code)
        assert refusal.message


def test_a_refusal_keeps_the_details_it_was_served_with():
    stale = guards.current_version.refuse(_documents(), {"document": "commitment_to_quality", "sha256": "c1"})
    assert stale.details == [{"version": 2, "sha256": "c2"}]
    early = guards.later_end_date.refuse({"end_date": "2027-04-16"}, {"end_date": "2027-04-10"})
    assert early.details == [{"field": "end_date", "message": "after 2027-04-16"}]


def test_the_upload_vocabulary_is_the_upload_checks():
    from chalicelib.services import exchange_uploads, uploads

    assert guards.ACCEPTED == uploads.ACCEPTED
    assert (guards.EVIDENCE, guards.SIGNED_SCAN) == (exchange_uploads.EVIDENCE, exchange_uploads.SIGNED_SCAN)


def test_the_engine_checks_the_guards_when_the_step_is_taken_in_their_order():
    # Given a refused extension with neither a pending request nor a comment
    with pytest.raises(Conflict) as refused:
        FLOW.step(E.READY, "refuse_extension", {"VOP"}, doc={}, args={})
    # Then the first guard answers
    assert refused.value.code == "NO_EXTENSION_REQUESTED"
    with pytest.raises(RuleBroken) as refused:
        FLOW.step(E.READY, "refuse_extension", {"VOP"}, doc={"extension": {"status": "requested"}}, args={})
    assert refused.value.code == "COMMENT_REQUIRED"
    # And who may not, or not now, is told that before any guard
    with pytest.raises(Conflict) as refused:
        FLOW.step(E.DRAFT, "refuse_extension", {"VOP"}, doc={}, args={})
    assert refused.value.code == "INVALID_STATUS"


def test_a_repeat_checks_no_guard():
    # The act was taken when its guards held; given again, it is answered as it is now
    step = FLOW.step(E.DRAFT, "submit", {"VO"}, {"VO"}, doc={"bank_account": None})
    assert step.repeat and step.status == E.DRAFT
