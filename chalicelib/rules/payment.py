"""A payment's life (API.md "Support, finance, statistics"): computed when the closing report is
approved, instructed by the finance function (a SEPA credit transfer), paid once finance records the
bank's execution; failed after the bounded retries, and re-queued by finance. Pure: no AWS, no I/O.

Parties: `system` (the functions: the one that computes it, the finance function, the dead-letter
function) and `finance` (the clerks, and admin acting as one).
"""

from __future__ import annotations

from enum import StrEnum

from chalicelib.rules.lifecycle import Lifecycle, transition


class PaymentStatus(StrEnum):
    CALCULATED = "calculated"
    INSTRUCTED = "instructed"
    PAID = "paid"
    FAILED = "failed"
    NOTHING_TO_PAY = "nothing_to_pay"


P = PaymentStatus
SYSTEM, FINANCE = "system", "finance"
# Not paid yet: what the overdue check looks at, and what the sparse index holds.
OPEN = (P.CALCULATED, P.INSTRUCTED, P.FAILED)

LIFECYCLE = Lifecycle(
    name="payment",
    statuses=PaymentStatus,
    subjects=frozenset(),
    transitions=(
        transition("instruct", [P.CALCULATED], [SYSTEM], P.INSTRUCTED),
        transition("fail", [P.CALCULATED], [SYSTEM], P.FAILED),
        transition("retry", [P.FAILED], [FINANCE], P.CALCULATED),
        transition("confirm", [P.INSTRUCTED], [FINANCE], P.PAID),
    ),
    wrong_status_code="INVALID_STATUS",
    labels={
        "instruct": "instruct the transfer",
        "fail": "record the payment as failed",
        "retry": "retry the payment",
        "confirm": "confirm the payment",
    },
)
