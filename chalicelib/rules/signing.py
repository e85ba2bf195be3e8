"""Which signatures count: a signature is on one version of a generated document (its number and
SHA-256); it counts while that version is the current one, and stays on record when an amendment makes
a new version. Pure: reads the exchange document only.

An amendment renders again only the documents whose content changed, so a signature on a document it
left alone still counts, and its party is not asked again: when the status comes back to a signing
step, the parties who already signed the current version are counted at once (`carried`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.rules.exchange_flow import ExchangeStatus

COMMITMENT_TO_QUALITY = "commitment_to_quality"
FINANCIAL_AGREEMENT = "financial_agreement"
KINDS = (COMMITMENT_TO_QUALITY, FINANCIAL_AGREEMENT)
SIGN_ACTION = {kind: f"sign_{kind}" for kind in KINDS}
KIND_OF_ACTION = {action: kind for kind, action in SIGN_ACTION.items()}


def current(doc: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The version of `kind` to sign now: the latest, once generated for the exchange's current
    agreed content (`validated_at`); None while it is being rendered."""
    versions = (doc.get("documents") or {}).get(kind) or []
    if not versions or versions[-1].get("validated_at") != doc.get("validated_at"):
        return None
    return versions[-1]


def signed_by(doc: Mapping[str, Any], kind: str) -> frozenset[str]:
    """The parties whose signature is on the current version of `kind`."""
    entry = current(doc, kind)
    if entry is None:
        return frozenset()
    return frozenset(
        s["party"]
        for s in doc.get("signatures") or []
        if s["document"] == kind and s["version"] == entry["version"] and s["sha256"] == entry["sha256"]
    )


def carried(
    status: ExchangeStatus, acted: Mapping[str, list[str]], doc: Mapping[str, Any]
) -> tuple[ExchangeStatus, dict[str, list[str]]]:
    """The status and collected acts once the signatures already on the current versions are counted:
    entering `signed` with the financial agreement already signed by VO and VOP goes on to `ready`."""
    # Imported here: the flow table's guards read the documents through this module.
    from chalicelib.rules.exchange_flow import FLOW

    acted = dict(acted)
    while True:
        step = next(
            (
                t
                for t in FLOW.rows_from(status)
                if t.action in KIND_OF_ACTION and t.collect and t.to is not None
            ),
            None,
        )
        if step is None:
            return status, acted
        already = signed_by(doc, KIND_OF_ACTION[step.action]) & step.collect
        if already:
            acted[step.action] = sorted(already | set(acted.get(step.action, ())))
        if not already or not step.collect <= already:
            return status, acted
        assert step.to is not None  # the signing step that moves on (chosen above)
        status, acted = step.to, {}
