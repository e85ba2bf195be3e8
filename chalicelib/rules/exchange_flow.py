"""An exchange's life (API.md "Exchanges"): its statuses, and for each the actions allowed, by which
party and to which status. Every exchange endpoint and the scheduled function go through this table;
`GET /v1/exchanges/{id}` lists the caller's allowed actions from it. Pure: no AWS, no I/O.

Parties: VO and HO (the visiting and host organisations' users), VOP and HOP (officers of their
partnerships; one partnership may be both, and its act then counts for both), support, admin, finance,
the scheduler (the date-driven steps) and the withdrawal (a participant leaving the programme). VO and
HO are the subjects: nobody who is one of them takes an oversight action (a review, a report decision)
on the exchange.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from chalicelib.rules import exchange_guards as guards
from chalicelib.rules.lifecycle import Lifecycle, restricted, transition
from chalicelib.rules.signing import FINANCIAL_AGREEMENT


class ExchangeStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    VALIDATED = "validated"
    SIGNED = "signed"
    READY = "ready"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REPORT_SUBMITTED = "report_submitted"
    REPORT_REJECTED = "report_rejected"
    REPORT_APPROVED = "report_approved"
    PAID = "paid"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Party(StrEnum):
    VO = "VO"
    HO = "HO"
    VOP = "VOP"
    HOP = "HOP"
    SUPPORT = "support"
    ADMIN = "admin"
    FINANCE = "finance"
    SCHEDULER = "scheduler"
    WITHDRAWAL = "withdrawal"


S = ExchangeStatus
VO, HO, VOP, HOP = Party.VO, Party.HO, Party.VOP, Party.HOP
PARTICIPANTS = (VO, HO)
PARTNERSHIPS = (VOP, HOP)
SIGNERS = (VO, HO, VOP, HOP)
# Before the stay starts an exchange may be cancelled; after, it runs to its report.
BEFORE_START = (S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED, S.VALIDATED, S.SIGNED, S.READY)
# Agreed fields (dates, objectives, plan...) change only while the participants hold the draft; after
# validation a change is an amendment (an extension), which needs the documents signed again.
EDITABLE = (S.DRAFT, S.CHANGES_REQUESTED)
# Validated and not yet started: the agreed fields are in generated documents, changed by amendment.
AGREED = (S.VALIDATED, S.SIGNED, S.READY)
AFTER_STAY = (S.COMPLETED, S.REPORT_REJECTED)
# A signature (in the tool, or a scan once accepted) is on the current version of a generated document.
SIGNING = (guards.document_generated, guards.current_version)
# The financial agreement is between the VO and the VOP; it names the VO's bank account, which the VO
# alone gives and the host side never sees.
FA_SIGNERS = (VO, VOP)
BANK_ACCOUNT = restricted("bank_account", [VO], "give the visiting organisation's bank account")
FA_SCAN = restricted(
    "document", FA_SIGNERS, "upload a scan of the financial agreement", value=FINANCIAL_AGREEMENT
)

# What steps cause (chalicelib.rules.lifecycle `effects`). Taken and given back in the step's own
# transaction: the visitor's one visit. Delivered after it, from the outbox: the rest.
TAKE_VISIT, RELEASE_VISIT = "take_visit", "release_visit"
RENDER = "render_agreements"  # the Commitment to Quality and the financial agreement, for signing
SETTLE = "settle_lump_sum"  # the lump sum computed from the agreed facts, its payment created and queued
SYNC = "sync_registrations"  # what the visitor's and host's registrations hold of the exchange
IN_TRANSACTION = frozenset({TAKE_VISIT, RELEASE_VISIT})
# Besides these, every write of an exchange tells the parties it newly waits for, and tells them of the
# statuses they are told of (chalicelib.services.exchange_mail): what it causes is the same for every
# row, worked out from the state before and after.

FLOW = Lifecycle(
    name="exchange",
    statuses=ExchangeStatus,
    subjects=frozenset(PARTICIPANTS),
    transitions=(
        # The participants build the Commitment to Quality; an edit after changes were requested takes
        # it back to draft; each confirms it, and the second confirmation submits it.
        transition("edit", [S.DRAFT], PARTICIPANTS, None, restricted=[BANK_ACCOUNT]),
        transition(
            "edit", [S.CHANGES_REQUESTED], PARTICIPANTS, S.DRAFT, restricted=[BANK_ACCOUNT], awaited=True
        ),
        transition(
            "submit",
            [S.DRAFT],
            PARTICIPANTS,
            S.SUBMITTED,
            collect=PARTICIPANTS,
            guards=[guards.bank_account_given],
            effects=(TAKE_VISIT, SYNC),
            awaited=True,
        ),
        # Both partnerships review it; changes requested say which.
        transition(
            "approve",
            [S.SUBMITTED],
            PARTNERSHIPS,
            S.VALIDATED,
            oversight=True,
            collect=PARTNERSHIPS,
            effects=(RENDER,),
            awaited=True,
        ),
        transition(
            "request_changes",
            [S.SUBMITTED],
            PARTNERSHIPS,
            S.CHANGES_REQUESTED,
            oversight=True,
            guards=[guards.CHANGES_EXPLAINED],
            effects=(SYNC,),
        ),
        # All four sign the Commitment to Quality, then VO and VOP the financial agreement; a signed scan
        # counts as its party's signature once the upload check accepts it.
        transition(
            "sign_commitment_to_quality",
            [S.VALIDATED],
            SIGNERS,
            S.SIGNED,
            collect=SIGNERS,
            guards=SIGNING,
            on_repeat=guards.signed_already,
            awaited=True,
        ),
        transition(
            "sign_financial_agreement",
            [S.SIGNED],
            FA_SIGNERS,
            S.READY,
            collect=FA_SIGNERS,
            guards=SIGNING,
            on_repeat=guards.signed_already,
            awaited=True,
        ),
        transition(
            "upload_signed_scan",
            [S.VALIDATED, S.SIGNED],
            SIGNERS,
            None,
            restricted=[FA_SCAN],
            guards=[guards.room_for_uploads, guards.document_generated],
        ),
        transition("decline_to_sign", [S.VALIDATED, S.SIGNED], SIGNERS, S.CHANGES_REQUESTED, effects=(SYNC,)),
        # An extension (the one-month and working-day rules still hold) is the VOP's to decide; granted,
        # it amends the Commitment to Quality (and the financial agreement only if what the money depends
        # on changed), which go back to be signed by the parties whose signature it invalidated.
        transition(
            "request_extension",
            AGREED,
            PARTICIPANTS,
            None,
            guards=[guards.no_extension_pending, guards.later_end_date],
        ),
        transition(
            "grant_extension",
            AGREED,
            [VOP],
            S.VALIDATED,
            oversight=True,
            guards=[guards.extension_requested],
            effects=(RENDER, SYNC),
            awaited=True,
        ),
        transition(
            "refuse_extension",
            AGREED,
            [VOP],
            None,
            oversight=True,
            guards=[guards.extension_requested, guards.REFUSAL_EXPLAINED],
        ),
        # A participant's withdrawal cancels its exchanges that have not started, so cancelling has the
        # same effects whoever asks.
        transition(
            "cancel",
            BEFORE_START,
            (*SIGNERS, Party.SUPPORT, Party.ADMIN, Party.WITHDRAWAL),
            S.CANCELLED,
            effects=(RELEASE_VISIT, SYNC),
        ),
        # The dates drive the stay (the scheduled function, by the business date).
        transition("start", [S.READY], [Party.SCHEDULER], S.IN_PROGRESS),
        transition("complete", [S.IN_PROGRESS], [Party.SCHEDULER], S.COMPLETED),
        # After the stay: the closing report, its evidence and the VOP's decision (an approval needs an
        # accepted evidence file, a rejection a comment); the host's feedback. Evidence may also follow a
        # report that awaits its decision: else the VOP could not approve it (no evidence) and the VO
        # could not add any until the VOP rejected it.
        transition(
            "upload_evidence",
            [*AFTER_STAY, S.REPORT_SUBMITTED],
            [VO],
            None,
            guards=[guards.room_for_uploads],
        ),
        transition("submit_report", AFTER_STAY, [VO], S.REPORT_SUBMITTED, awaited=True),
        transition(
            "give_host_feedback",
            [S.COMPLETED, S.REPORT_SUBMITTED, S.REPORT_REJECTED, S.REPORT_APPROVED],
            [HO],
            None,
        ),
        transition(
            "approve_report",
            [S.REPORT_SUBMITTED],
            [VOP],
            S.REPORT_APPROVED,
            oversight=True,
            guards=[guards.evidence_accepted],
            # SYNC: the exchange is completed, which its participants' alumni records hold.
            effects=(SETTLE, SYNC),
            awaited=True,
        ),
        transition(
            "reject_report",
            [S.REPORT_SUBMITTED],
            [VOP],
            S.REPORT_REJECTED,
            oversight=True,
            guards=[guards.REJECTION_EXPLAINED],
        ),
        # The lump sum: paid (finance records the bank's execution) or nothing to pay (the function
        # that computes it closes the exchange).
        transition("confirm_payment", [S.REPORT_APPROVED], [Party.FINANCE], S.PAID, oversight=True),
        transition("close", [S.REPORT_APPROVED], [Party.SCHEDULER], S.CLOSED),
    ),
    wrong_status_code="INVALID_STATUS",
    labels={
        "edit": "edit the draft",
        "submit": "confirm the draft",
        "approve": "approve the Commitment to Quality",
        "request_changes": "request changes to the Commitment to Quality",
        "sign_commitment_to_quality": "sign the Commitment to Quality",
        "sign_financial_agreement": "sign the financial agreement",
        "upload_signed_scan": "upload a signed scan",
        "decline_to_sign": "decline to sign",
        "request_extension": "ask for an extension",
        "grant_extension": "grant the extension",
        "refuse_extension": "refuse the extension",
        "cancel": "cancel the exchange",
        "start": "start the stay",
        "complete": "complete the stay",
        "upload_evidence": "upload evidence",
        "submit_report": "submit the closing report",
        "give_host_feedback": "give the host's feedback",
        "approve_report": "approve the closing report",
        "reject_report": "reject the closing report",
        "confirm_payment": "confirm the payment",
        "close": "close the exchange",
    },
)


def date_step(status: S, start_date: str, end_date: str, today: date) -> str | None:
    """The date-driven step due today, if any: a ready exchange starts on its start date; one in
    progress is completed from the day after its end date."""
    if status == S.READY and date.fromisoformat(start_date) <= today:
        return "start"
    if status == S.IN_PROGRESS and date.fromisoformat(end_date) < today:
        return "complete"
    return None
