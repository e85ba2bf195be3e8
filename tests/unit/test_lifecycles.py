"""Every cell of every lifecycle table: for each status, action and party, the outcome is the next
status or the refusal the contract names (404 no party, 403 wrong party or conflict of interest, both
whatever the status, 409 wrong status). The expected tables are written out here, apart from the
code, so a change to a table is a change to this test too. The rows' guards are tested in
test_exchange_guards.py; here every act is taken where they hold."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from chalicelib.errors import Conflict, Forbidden, NotFound
from chalicelib.rules import contact_request, exchange_flow, payment, registration, support_query
from chalicelib.rules.lifecycle import Lifecycle, transition

R = registration.RegistrationStatus
C = contact_request.ContactRequestStatus
E = exchange_flow.ExchangeStatus
Q = support_query.SupportQueryStatus

# (status, action) -> (who may, next status); every other (status, action) is the wrong status.
REGISTRATION_EXPECTED = {
    (R.PENDING, "accept"): ({"partnership"}, R.ACCEPTED),
    (R.PENDING, "reject"): ({"partnership"}, R.REJECTED),
    **{(s, "edit"): ({"owner"}, s) for s in (R.PENDING, R.ACCEPTED, R.REJECTED)},
    **{(s, "upload_cv"): ({"owner"}, s) for s in (R.PENDING, R.ACCEPTED, R.REJECTED)},
    **{(s, "withdraw"): ({"owner"}, R.WITHDRAWN) for s in (R.PENDING, R.ACCEPTED, R.REJECTED)},
}
CONTACT_EXPECTED = {
    (C.PENDING, "accept"): ({"recipient"}, C.ACCEPTED),
    (C.PENDING, "decline"): ({"recipient"}, C.DECLINED),
}
# Support answers (again, if need be), the asker writes back (open again), either closes; closed is final.
SUPPORT_QUERY_EXPECTED = {
    **{(s, "answer"): ({"support"}, Q.ANSWERED) for s in (Q.OPEN, Q.ANSWERED)},
    **{(s, "follow_up"): ({"asker"}, Q.OPEN) for s in (Q.OPEN, Q.ANSWERED)},
    **{(s, "close"): ({"asker", "support"}, Q.CLOSED) for s in (Q.OPEN, Q.ANSWERED)},
}

SIGNERS = {"VO", "HO", "VOP", "HOP"}
BEFORE_START = (E.DRAFT, E.SUBMITTED, E.CHANGES_REQUESTED, E.VALIDATED, E.SIGNED, E.READY)
AFTER_STAY = (E.COMPLETED, E.REPORT_REJECTED)
# Evidence may follow the report while it awaits its decision (else the VO waits for a rejection).
AWAITING_DECISION = (*AFTER_STAY, E.REPORT_SUBMITTED)
EXCHANGE_EXPECTED = {
    (E.DRAFT, "edit"): ({"VO", "HO"}, E.DRAFT),
    (E.CHANGES_REQUESTED, "edit"): ({"VO", "HO"}, E.DRAFT),
    (E.DRAFT, "submit"): ({"VO", "HO"}, E.SUBMITTED),
    (E.SUBMITTED, "approve"): ({"VOP", "HOP"}, E.VALIDATED),
    (E.SUBMITTED, "request_changes"): ({"VOP", "HOP"}, E.CHANGES_REQUESTED),
    (E.VALIDATED, "sign_commitment_to_quality"): (SIGNERS, E.SIGNED),
    (E.SIGNED, "sign_financial_agreement"): ({"VO", "VOP"}, E.READY),
    **{(s, "upload_signed_scan"): (SIGNERS, s) for s in (E.VALIDATED, E.SIGNED)},
    **{(s, "decline_to_sign"): (SIGNERS, E.CHANGES_REQUESTED) for s in (E.VALIDATED, E.SIGNED)},
    **{(s, "request_extension"): ({"VO", "HO"}, s) for s in (E.VALIDATED, E.SIGNED, E.READY)},
    **{(s, "grant_extension"): ({"VOP"}, E.VALIDATED) for s in (E.VALIDATED, E.SIGNED, E.READY)},
    **{(s, "refuse_extension"): ({"VOP"}, s) for s in (E.VALIDATED, E.SIGNED, E.READY)},
    **{(s, "cancel"): (SIGNERS | {"support", "admin", "withdrawal"}, E.CANCELLED) for s in BEFORE_START},
    (E.READY, "start"): ({"scheduler"}, E.IN_PROGRESS),
    (E.IN_PROGRESS, "complete"): ({"scheduler"}, E.COMPLETED),
    **{(s, "upload_evidence"): ({"VO"}, s) for s in AWAITING_DECISION},
    **{(s, "submit_report"): ({"VO"}, E.REPORT_SUBMITTED) for s in AFTER_STAY},
    **{
        (s, "give_host_feedback"): ({"HO"}, s)
        for s in (E.COMPLETED, E.REPORT_SUBMITTED, E.REPORT_REJECTED, E.REPORT_APPROVED)
    },
    (E.REPORT_SUBMITTED, "approve_report"): ({"VOP"}, E.REPORT_APPROVED),
    (E.REPORT_SUBMITTED, "reject_report"): ({"VOP"}, E.REPORT_REJECTED),
    (E.REPORT_APPROVED, "confirm_payment"): ({"finance"}, E.PAID),
    (E.REPORT_APPROVED, "close"): ({"scheduler"}, E.CLOSED),
}
# The collective steps: who must all act before the status moves on.
EXCHANGE_COLLECT = {
    "submit": {"VO", "HO"},
    "approve": {"VOP", "HOP"},
    "sign_commitment_to_quality": SIGNERS,
    "sign_financial_agreement": {"VO", "VOP"},
}
EXCHANGE_OVERSIGHT = {
    "approve",
    "request_changes",
    "grant_extension",
    "refuse_extension",
    "approve_report",
    "reject_report",
    "confirm_payment",
}


def _all_subsets(names):
    return [set(c) for n in range(len(names) + 1) for c in itertools.combinations(names, n)]


# Exchanges have nine parties: nobody, every single one, and the combinations that occur (one
# partnership as VOP and HOP; a participant who is also an officer of its own or the other side's
# partnership; a support officer who is the host; a finance clerk who is the visitor).
EXCHANGE_PARTY_SETS = [
    set(),
    *({str(p)} for p in exchange_flow.Party),
    {"VOP", "HOP"},
    {"VO", "VOP"},
    {"HO", "HOP"},
    {"VO", "HOP"},
    {"HO", "VOP"},
    {"HO", "support"},
    {"VO", "finance"},
]
EXCHANGE_SUBJECTS = {"VO", "HO"}

# An exchange, and each act's arguments, where every guard of the act holds.
AT = "2027-03-01T10:00:00Z"
HOLDING_DOC = {
    "bank_account": {"holder": "Acme IoT Srl", "iban": "DE89370400440532013000"},
    "validated_at": AT,
    "documents": {
        "commitment_to_quality": [{"version": 1, "sha256": "c1", "validated_at": AT}],
        "financial_agreement": [{"version": 1, "sha256": "f1", "validated_at": AT}],
    },
    "uploads": {"upl_1": {"kind": "evidence", "status": "accepted"}},
    "end_date": "2027-04-16",
}
_REQUESTED = {**HOLDING_DOC, "extension": {"status": "requested", "end_date": "2027-04-20"}}
HOLDING = {
    "request_changes": (HOLDING_DOC, {"comment": "Add a plan."}),
    "sign_commitment_to_quality": (HOLDING_DOC, {"document": "commitment_to_quality", "sha256": "c1"}),
    "sign_financial_agreement": (HOLDING_DOC, {"document": "financial_agreement", "sha256": "f1"}),
    "upload_signed_scan": (HOLDING_DOC, {"document": "commitment_to_quality"}),
    "request_extension": (HOLDING_DOC, {"end_date": "2027-04-20"}),
    "grant_extension": (_REQUESTED, {}),
    "refuse_extension": (_REQUESTED, {"comment": "Budget"}),
    "reject_report": (HOLDING_DOC, {"comment": "Photos?"}),
}

CASES = [
    (
        registration.LIFECYCLE,
        REGISTRATION_EXPECTED,
        _all_subsets(["owner", "partnership"]),
        {"accept", "reject"},
        {"owner"},
        {},
    ),
    (contact_request.LIFECYCLE, CONTACT_EXPECTED, _all_subsets(["sender", "recipient"]), set(), set(), {}),
    # A support officer does not answer their own query (another one does); admin reads, and acts on none.
    (
        support_query.LIFECYCLE,
        SUPPORT_QUERY_EXPECTED,
        _all_subsets(["asker", "support", "admin"]),
        {"answer"},
        {"asker"},
        {},
    ),
    (
        exchange_flow.FLOW,
        EXCHANGE_EXPECTED,
        EXCHANGE_PARTY_SETS,
        EXCHANGE_OVERSIGHT,
        EXCHANGE_SUBJECTS,
        EXCHANGE_COLLECT,
    ),
]


def _outcome(lifecycle: Lifecycle, status, action, parties) -> tuple[Any, ...]:
    """What the table answers for one cell: the status after the act, or the refusal and its code."""
    doc, args = HOLDING.get(action, (HOLDING_DOC, {}))
    try:
        step = lifecycle.step(status, action, parties, doc=doc, args=args)
    except (NotFound, Forbidden, Conflict) as refused:
        named = str(status) in refused.message if isinstance(refused, Conflict) else True
        return (type(refused).__name__, refused.code, named)
    return ("ok", step.status, frozenset(step.acted), action in lifecycle.allowed(status, parties))


def _expected(
    lifecycle: Lifecycle, expected, oversight, subjects, collects, status, action, parties
) -> tuple[Any, ...]:
    """The same answer worked out from the expected tables written in this file."""
    row = expected.get((status, action))
    may = {p for r in (v[0] for (s, a), v in expected.items() if a == action) for p in r}
    collect = collects.get(action, set())
    share = parties & collect
    if not parties:
        return ("NotFound", "NOT_FOUND", True)
    if not parties & may:
        return ("Forbidden", "FORBIDDEN", True)
    # Conflicts of interest, whatever the status: a subject deciding on the object, or one person
    # acting in one collective act for a subject and another party
    if (action in oversight and parties & subjects) or (share & subjects and share - subjects):
        return ("Forbidden", "CONFLICT_OF_INTEREST", True)
    if row is None:
        return ("Conflict", lifecycle.wrong_status_code, True)  # and the 409 names the status
    if not parties & row[0]:
        return ("Forbidden", "FORBIDDEN", True)
    # A collective action moves on only when every party it collects has acted
    return ("ok", row[1] if share >= collect else status, frozenset(share), True)


# One test per lifecycle and status, each checking every (action, parties) cell of that status: a
# failure names every cell that differs (thousands of one-line tests would cost more to run than check).
@pytest.mark.parametrize(
    ("case", "status"),
    [
        pytest.param(case, status, id=f"{case[0].name}-{status}")
        for case in CASES
        for status in case[0].statuses
    ],
)
def test_every_cell(case, status):
    lifecycle, expected, party_sets, oversight, subjects, collects = case
    differing = []
    for action, parties in itertools.product(lifecycle.actions, party_sets):
        found = _outcome(lifecycle, status, action, parties)
        wanted = _expected(lifecycle, expected, oversight, subjects, collects, status, action, parties)
        if found != wanted:
            differing.append(f"{action} by {sorted(parties) or 'nobody'}: {found} != {wanted}")
    assert not differing, "\n".join(differing)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0].name)
def test_the_table_holds_exactly_the_expected_rows(case):
    lifecycle, expected, _, oversight, subjects, collects = case
    declared = {(s, t.action): (set(t.by), t.to or s) for t in lifecycle.transitions for s in t.sources}
    assert declared == expected
    assert {t.action for t in lifecycle.transitions if t.oversight} == oversight
    assert lifecycle.subjects == subjects
    assert {t.action: set(t.collect) for t in lifecycle.transitions if t.collect} == collects


def test_a_partnership_officer_owning_the_registration_sees_no_decision_among_its_actions():
    assert registration.LIFECYCLE.allowed(R.PENDING, {"owner", "partnership"}) == [
        "edit",
        "upload_cv",
        "withdraw",
    ]
    assert registration.LIFECYCLE.allowed(R.PENDING, {"partnership"}) == ["accept", "reject"]


def test_a_table_with_two_rows_for_one_cell_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        Lifecycle(
            name="thing",
            statuses=C,
            subjects=frozenset(),
            transitions=(
                transition("accept", [C.PENDING], ["recipient"], C.ACCEPTED),
                transition("accept", [C.PENDING], ["sender"], C.DECLINED),
            ),
            wrong_status_code="NOT_PENDING",
            labels={"accept": "accept the thing"},
        )


# --- conflicts of interest ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "parties"),
    [
        # the VO's user who is an officer of the VOP signs no agreement for both
        (E.SIGNED, "sign_financial_agreement", {"VO", "VOP"}),
        (E.VALIDATED, "sign_commitment_to_quality", {"VO", "VOP"}),
        # the host's user who is an officer of either partnership neither
        (E.VALIDATED, "sign_commitment_to_quality", {"HO", "HOP"}),
        (E.VALIDATED, "sign_commitment_to_quality", {"HO", "VOP"}),
        # a finance clerk who is the VO's user does not confirm its own lump sum
        (E.REPORT_APPROVED, "confirm_payment", {"VO", "finance"}),
        # and whatever the status: no status ever allows it
        (E.DRAFT, "sign_financial_agreement", {"VO", "VOP"}),
        (E.PAID, "confirm_payment", {"VO", "finance"}),
    ],
)
def test_one_person_acts_for_one_side_only(status, action, parties):
    with pytest.raises(Forbidden) as refused:
        exchange_flow.FLOW.step(
            status, action, parties, doc=HOLDING_DOC, args=HOLDING.get(action, ({}, {}))[1]
        )
    assert refused.value.code == "CONFLICT_OF_INTEREST"
    assert action not in exchange_flow.FLOW.allowed(status, parties)


def test_one_organisation_holding_two_parties_acts_for_both_and_one_person_for_its_one_side():
    args = HOLDING["sign_commitment_to_quality"][1]
    both = exchange_flow.FLOW.step(
        E.VALIDATED, "sign_commitment_to_quality", {"VOP", "HOP"}, doc=HOLDING_DOC, args=args
    )
    assert both.acted == {"VOP", "HOP"}
    # The VO's user who is an officer of the host's partnership: the financial agreement is between VO
    # and VOP, so it signs that one for the VO alone
    vo = exchange_flow.FLOW.step(
        E.SIGNED,
        "sign_financial_agreement",
        {"VO", "HOP"},
        doc=HOLDING_DOC,
        args=HOLDING["sign_financial_agreement"][1],
    )
    assert vo.acted == {"VO"}


# --- arguments only some parties may give -------------------------------------------------------------


BANK_ACCOUNT = {"bank_account": {"holder": "H", "iban": "DE89370400440532013000"}}
FA_SCAN = {"document": "financial_agreement"}


@pytest.mark.parametrize("status", list(E))
@pytest.mark.parametrize(
    ("action", "args", "parties"),
    [
        ("edit", BANK_ACCOUNT, {"HO"}),
        ("edit", {"bank_account": None}, {"HO"}),  # removing it is giving it too
        ("upload_signed_scan", FA_SCAN, {"HO"}),
        ("upload_signed_scan", FA_SCAN, {"HOP"}),
        ("upload_signed_scan", FA_SCAN, {"HO", "HOP"}),
    ],
)
def test_who_may_never_give_an_argument_is_told_so_whatever_the_status(status, action, args, parties):
    with pytest.raises(Forbidden) as refused:
        exchange_flow.FLOW.check(status, action, parties, args)
    assert refused.value.code == "FORBIDDEN"


def test_the_argument_is_the_restriction_not_the_action():
    flow = exchange_flow.FLOW
    assert flow.check(E.DRAFT, "edit", {"HO"}, {"expected_outcomes": "Two pilots."}) == E.DRAFT
    assert flow.check(E.DRAFT, "edit", {"VO"}, BANK_ACCOUNT) == E.DRAFT
    assert flow.check(E.VALIDATED, "upload_signed_scan", {"HO"}, {"document": "commitment_to_quality"})
    assert flow.check(E.SIGNED, "upload_signed_scan", {"VOP"}, FA_SCAN) == E.SIGNED
    # the party that may give it is told "not now" where the status does not allow the action
    with pytest.raises(Conflict) as refused:
        flow.check(E.SUBMITTED, "edit", {"VO"}, BANK_ACCOUNT)
    assert refused.value.code == "INVALID_STATUS"


# --- labels -------------------------------------------------------------------------------------------

LIFECYCLES = [
    registration.LIFECYCLE,
    contact_request.LIFECYCLE,
    payment.LIFECYCLE,
    exchange_flow.FLOW,
    support_query.LIFECYCLE,
]


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=lambda lc: lc.name)
def test_every_action_of_every_lifecycle_has_a_label_in_words(lifecycle):
    assert set(lifecycle.labels) == set(lifecycle.actions)
    for action, label in lifecycle.labels.items():
        assert label and label == label.strip() and "_" not in label, (action, label)


def test_a_table_without_a_label_for_each_action_is_refused():
    with pytest.raises(ValueError, match="accept"):
        Lifecycle(
            name="thing",
            statuses=C,
            subjects=frozenset(),
            transitions=(transition("accept", [C.PENDING], ["recipient"], C.ACCEPTED),),
            wrong_status_code="NOT_PENDING",
            labels={"decline": "decline the thing"},
        )


@pytest.mark.parametrize(
    ("lifecycle", "status", "action", "parties", "args", "message"),
    [
        (
            exchange_flow.FLOW,
            E.REPORT_APPROVED,
            "upload_evidence",
            {"VO"},
            {},
            "You cannot upload evidence now: the exchange's status is report_approved.",
        ),
        (exchange_flow.FLOW, E.COMPLETED, "upload_evidence", {"HO"}, {}, "You may not upload evidence."),
        (
            exchange_flow.FLOW,
            E.DRAFT,
            "edit",
            {"HO"},
            BANK_ACCOUNT,
            "You may not give the visiting organisation's bank account.",
        ),
        (
            exchange_flow.FLOW,
            E.SUBMITTED,
            "approve",
            {"VO", "VOP"},
            {},
            "You may not approve the Commitment to Quality: you are a party to this exchange.",
        ),
        (
            registration.LIFECYCLE,
            R.ACCEPTED,
            "accept",
            {"partnership"},
            {},
            "You cannot accept the registration now: the registration's status is accepted.",
        ),
        (
            contact_request.LIFECYCLE,
            C.PENDING,
            "accept",
            {"sender"},
            {},
            "You may not accept the contact request.",
        ),
    ],
)
def test_refusals_are_worded_from_the_labels(lifecycle, status, action, parties, args, message):
    with pytest.raises((Forbidden, Conflict)) as refused:
        lifecycle.check(status, action, parties, args)
    assert refused.value.message == message


def test_one_partnership_as_vop_and_hop_approves_for_both():
    assert exchange_flow.FLOW.step(E.SUBMITTED, "approve", {"VOP", "HOP"}).status == E.VALIDATED
    one = exchange_flow.FLOW.step(E.SUBMITTED, "approve", {"HOP"})
    assert one.status == E.SUBMITTED
    assert exchange_flow.FLOW.step(E.SUBMITTED, "approve", {"VOP"}, one.acted).status == E.VALIDATED


SIGN_CTQ = HOLDING["sign_commitment_to_quality"][1]


def test_the_commitment_is_signed_when_all_four_have_signed_in_any_order():
    for order in itertools.permutations(["VO", "HO", "VOP", "HOP"]):
        acted: frozenset[str] = frozenset()
        for i, party in enumerate(order):
            step = exchange_flow.FLOW.step(
                E.VALIDATED, "sign_commitment_to_quality", {party}, acted, doc=HOLDING_DOC, args=SIGN_CTQ
            )
            acted = step.acted
            assert step.status == (E.SIGNED if i == 3 else E.VALIDATED)


def test_a_participant_who_is_also_a_reviewer_may_not_review_its_own_exchange():
    with pytest.raises(Forbidden) as refused:
        exchange_flow.FLOW.check(E.SUBMITTED, "approve", {"VO", "VOP"})
    assert refused.value.code == "CONFLICT_OF_INTEREST"
    # but may still act as a participant
    assert exchange_flow.FLOW.check(E.SUBMITTED, "cancel", {"VO", "VOP"}) == E.CANCELLED


def test_the_asker_s_reply_is_a_follow_up_whatever_else_they_are_and_anyone_else_s_an_answer():
    assert support_query.reply_action({"asker"}) == "follow_up"
    assert support_query.reply_action({"asker", "support"}) == "follow_up"
    assert support_query.reply_action({"support"}) == "answer"
    # admin's reply is an answer, which the table refuses it
    with pytest.raises(Forbidden):
        support_query.LIFECYCLE.check(Q.OPEN, support_query.reply_action({"admin"}), {"admin"})
