"""Which signatures count: those on the current version; entering a signing step counts the ones a
party already gave on a version the amendment left alone."""

from __future__ import annotations

from chalicelib.rules.exchange_flow import ExchangeStatus as S
from chalicelib.rules.signing import carried, signed_by

AT = "2027-03-01T10:00:00Z"


def exchange(fa_signers: list[str], ctq_signers: list[str] = (), fa_validated_at: str = AT) -> dict:
    def sig(kind: str, party: str, version: int, sha: str) -> dict:
        return {"document": kind, "party": party, "version": version, "sha256": sha}

    return {
        "validated_at": AT,
        "documents": {
            "commitment_to_quality": [
                {"version": 1, "sha256": "c1", "validated_at": "2027-02-01T00:00:00Z"},
                {"version": 2, "sha256": "c2", "validated_at": AT},
            ],
            "financial_agreement": [{"version": 1, "sha256": "f1", "validated_at": fa_validated_at}],
        },
        "signatures": [
            *(sig("commitment_to_quality", p, 1, "c1") for p in ("VO", "HO", "VOP", "HOP")),
            *(sig("commitment_to_quality", p, 2, "c2") for p in ctq_signers),
            *(sig("financial_agreement", p, 1, "f1") for p in fa_signers),
        ],
    }


def test_only_signatures_on_the_current_version_count() -> None:
    doc = exchange(["VO"], ["HO"])
    assert signed_by(doc, "commitment_to_quality") == {"HO"}
    assert signed_by(doc, "financial_agreement") == {"VO"}
    # a document not yet rendered for the current content has no current version
    assert signed_by(exchange(["VO"], fa_validated_at="2027-02-01T00:00:00Z"), "financial_agreement") == set()


def test_entering_signed_with_the_financial_agreement_signed_goes_on_to_ready() -> None:
    assert carried(S.SIGNED, {}, exchange(["VO", "VOP"])) == (S.READY, {})


def test_a_partly_signed_document_counts_who_signed_and_waits_for_the_rest() -> None:
    assert carried(S.SIGNED, {}, exchange(["VOP"])) == (S.SIGNED, {"sign_financial_agreement": ["VOP"]})
    assert carried(S.VALIDATED, {}, exchange([], ["HO", "VO"])) == (
        S.VALIDATED,
        {"sign_commitment_to_quality": ["HO", "VO"]},
    )


def test_statuses_without_signing_are_left_alone() -> None:
    assert carried(S.DRAFT, {"submit": ["VO"]}, exchange(["VO", "VOP"])) == (S.DRAFT, {"submit": ["VO"]})
