"""After the stay (API.md "Exchanges"): the visitor's closing report, the host's feedback, and the
visitor's partnership's decision on the report and its evidence. Each is a step of the flow table."""

from __future__ import annotations

from typing import Any

from chalicelib import clock
from chalicelib.auth import Principal
from chalicelib.services import exchanges


def submit_report(
    principal: Principal, exchange_id: str, report: dict[str, Any], version: int | None
) -> dict[str, Any]:
    """The VO's report on the stay (again after a rejection: the new one replaces it)."""

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        doc["report"] = {**report, "submitted_at": clock.now_iso(), "by": principal.user_id}
        return doc

    return exchanges.move(principal, exchange_id, "submit_report", version, change, ("report",))


def give_host_feedback(
    principal: Principal, exchange_id: str, feedback: dict[str, Any], version: int | None
) -> dict[str, Any]:
    """The HO's feedback: optional, it never holds the report or the payment back."""

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        doc["host_feedback"] = {**feedback, "given_at": clock.now_iso(), "by": principal.user_id}
        return doc

    return exchanges.move(principal, exchange_id, "give_host_feedback", version, change, ("host_feedback",))


def decide_report(
    principal: Principal, exchange_id: str, decision: str, comment: str | None, version: int | None
) -> dict[str, Any]:
    """The VOP approves the report (with at least one accepted evidence file: the lump sum follows) or
    rejects it with a comment (the VO edits and submits it again)."""
    approve = decision == "approve"

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        doc["report"] = {
            **(doc.get("report") or {}),
            "decision": decision,
            "comment": comment,
            "decided_at": clock.now_iso(),
        }
        return doc

    action = "approve_report" if approve else "reject_report"
    return exchanges.move(principal, exchange_id, action, version, change, ("report",), {"comment": comment})
