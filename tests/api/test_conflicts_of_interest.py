"""Nobody acts for both sides of what they take part in (RULES.md "Conflicts of interest"): a person
who is the visiting organisation's user and also an officer of its partnership signs no agreement for
both, and a finance clerk who is the visiting organisation's user does not confirm its own lump sum.
(One partnership that is both VOP and HOP is one organisation: that its act counts for both is the
flow table's, tested in tests/unit/test_lifecycles.py.)"""

from __future__ import annotations

from datetime import date

from tests.api import test_exchanges
from tests.api.helpers import body
from tests.api.test_exchanges import _sign, _validated, get, post, run_effects
from tests.api.test_finalisation import _approved, deliver_payments
from tests.events import test_cv_check
from tests.fakes import fake_clock

pair = test_exchanges.pair  # an accepted visitor (ada, epix) and host (hans, ce4big)
s3 = test_cv_check.s3


def _sha(client, path, tok, kind):
    documents = body(get(client, f"{path}/documents", tok))["items"]
    return next(d["sha256"] for d in documents if d["kind"] == kind and d["current"])


def test_the_visitors_user_who_is_an_officer_of_its_partnership_signs_no_agreement_for_both(
    client, pair, aws, token
):
    # Given a validated exchange, and the VO's user made an officer of the VOP (epix) too
    path = _validated(client, pair)
    run_effects(aws)
    both = token("ada@acme.example", "partnership", "epix")
    ctq = _sha(client, path, pair.visitor, "commitment_to_quality")
    # When that person signs the Commitment to Quality in one act for VO and VOP
    refused = post(client, f"{path}/signatures", both, {"document": "commitment_to_quality", "sha256": ctq})
    # Then it is a conflict of interest, and nothing is signed
    assert refused.status_code == 403, refused.body
    assert body(refused)["error"]["code"] == "CONFLICT_OF_INTEREST"
    assert body(get(client, path, pair.vop))["confirmations"] == {}
    assert "sign_commitment_to_quality" not in body(get(client, path, both))["actions"]
    # And with the Commitment to Quality signed by the four (the VO as the participant alone)
    _sign(client, path, (pair.visitor, pair.host, pair.vop, pair.hop), "commitment_to_quality")
    assert body(get(client, path, pair.vop))["status"] == "signed"
    # the financial agreement, between VO and VOP, is not signed by one person for both either
    fa = _sha(client, path, pair.visitor, "financial_agreement")
    assert "sign_financial_agreement" not in body(get(client, path, both))["actions"]
    refused = post(client, f"{path}/signatures", both, {"document": "financial_agreement", "sha256": fa})
    assert refused.status_code == 403, refused.body
    assert body(refused)["error"]["code"] == "CONFLICT_OF_INTEREST"
    scan = {"kind": "signed_scan", "document": "financial_agreement", "filename": "fa.pdf",
            "content_type": "application/pdf", "size": 2000}  # fmt: skip
    by_scan = post(client, f"{path}/uploads", both, scan)
    assert by_scan.status_code == 403 and body(by_scan)["error"]["code"] == "CONFLICT_OF_INTEREST"
    assert body(get(client, path, pair.vop))["status"] == "signed"
    # while the VO and another officer of the VOP sign it, one each
    _sign(client, path, (pair.visitor, pair.vop), "financial_agreement")
    assert body(get(client, path, pair.vop))["status"] == "ready"


def test_a_finance_clerk_who_is_the_visitors_user_does_not_confirm_its_own_lump_sum(
    client, pair, aws, s3, token
):
    # Given an instructed payment, and the VO's user who is also in finance
    path = _approved(client, pair, aws, s3)
    run_effects(aws)
    deliver_payments(aws)
    payment = body(get(client, f"{path}/payment", pair.visitor))
    vo_in_finance = token("ada@acme.example", "finance")
    confirm = {"bank_reference": "BANK-REF-1", "paid_at": "2027-04-20"}
    fake_clock().set_today(date(2027, 4, 21))
    # When that person confirms the payment to its own organisation
    refused = post(client, f"/v1/payments/{payment['id']}/confirm", vo_in_finance, confirm)
    # Then it is a conflict of interest, and neither the payment nor the exchange is paid
    assert refused.status_code == 403, refused.body
    assert body(refused)["error"]["code"] == "CONFLICT_OF_INTEREST"
    assert body(get(client, f"{path}/payment", pair.visitor))["status"] == "instructed"
    assert body(get(client, path, pair.visitor))["status"] == "report_approved"
    # While another finance clerk confirms it
    clerk = token("clerk@epix.example", "finance", "epix")
    paid = post(client, f"/v1/payments/{payment['id']}/confirm", clerk, confirm)
    assert paid.status_code == 200 and body(paid)["status"] == "paid"
