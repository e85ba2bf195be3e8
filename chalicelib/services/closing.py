"""After the stay (API.md "Exchanges"): the visitor's closing report, the host's feedback, and the
visitor's partnership's decision on the report and its evidence. Each is a step of the flow table."""

from __future__ import annotations

from typing import Any

from chalicelib.auth import Principal
from chalicelib.services import exchanges


def submit_report(
    principal: Principal, exchange_id: str, report: dict[str, Any], version: int | None
) -> dict[str, Any]:
    """The VO's report on the stay (again after a rejection: the new one replaces it)."""
    return exchanges.act(principal, exchange_id, "submit_report", {"report": report}, version, ("report",))


def give_host_feedback(
    principal: Principal, exchange_id: str, feedback: dict[str, Any], version: int | None
) -> dict[str, Any]:
    """The HO's feedback: optional, it never holds the report or the payment back."""
    args = {"feedback": feedback}
    return exchanges.act(principal, exchange_id, "give_host_feedback", args, version, ("host_feedback",))


def decide_report(
    principal: Principal, exchange_id: str, decision: str, comment: str | None, version: int | None
) -> dict[str, Any]:
    """The VOP approves the report (with at least one accepted evidence file: the lump sum follows) or
    rejects it with a comment (the VO edits and submits it again)."""
    action = "approve_report" if decision == "approve" else "reject_report"
    return exchanges.act(principal, exchange_id, action, {"comment": comment}, version, ("report",))
