"""The exchange's guards: the programme's conditions that a row of the flow table (rules.exchange_flow)
names and the engine checks when the step is taken, each a pure test of the exchange as read and the
act's arguments. Pure: no AWS, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.errors import Conflict, RuleBroken
from chalicelib.rules.lifecycle import Args, Guard, Refused, guard
from chalicelib.rules.signing import current

Doc = Mapping[str, Any]

# The exchange's uploads, by kind, and the upload check's verdict on a good file (services.uploads).
SIGNED_SCAN, EVIDENCE = "signed_scan", "evidence"
ACCEPTED = "accepted"
# Enough for every signature as a scan and a stay's evidence many times over; bounds the item's size.
MAX_UPLOADS = 40
# An extension's decision, as recorded on the exchange.
EXTENSION_REQUESTED, EXTENSION_GRANTED, EXTENSION_REFUSED = "requested", "granted", "refused"


@guard(RuleBroken, "BANK_ACCOUNT_REQUIRED")
def bank_account_given(doc: Doc, args: Args) -> str | None:
    # Validation renders the financial agreement, which names the account the lump sum goes to.
    if doc.get("bank_account"):
        return None
    return "The visiting organisation's bank account is needed before submission."


def comment_given(message: str) -> Guard:
    """A decision that sends something back says why, in its `comment`."""

    def comment_given(doc: Doc, args: Args) -> str | None:
        return None if (args.get("comment") or "").strip() else message

    return Guard("comment_given", RuleBroken, "COMMENT_REQUIRED", comment_given)


CHANGES_EXPLAINED = comment_given("Say what should change.")
REFUSAL_EXPLAINED = comment_given("Say why the extension is refused.")
REJECTION_EXPLAINED = comment_given("Say what the report lacks.")


@guard(RuleBroken, "TOO_MANY_UPLOADS")
def room_for_uploads(doc: Doc, args: Args) -> str | None:
    if len(doc.get("uploads") or {}) < MAX_UPLOADS:
        return None
    return f"An exchange holds at most {MAX_UPLOADS} uploaded files."


@guard(Conflict, "DOCUMENT_NOT_READY")
def document_generated(doc: Doc, args: Args) -> str | None:
    """The `document` to sign (in the tool or as a scan) is rendered for the agreed content."""
    if current(doc, args["document"]) is not None:
        return None
    return f"The {args['document']} is not generated yet."


@guard(Conflict, "STALE_DOCUMENT")
def current_version(doc: Doc, args: Args) -> Refused | None:
    """Nobody signs what they did not read: the `sha256` signed is the current version's."""
    entry = current(doc, args["document"])
    if entry is None or args["sha256"] == entry["sha256"]:
        return None
    return Refused(
        "That is not the current version of the document.",
        ({"version": entry["version"], "sha256": entry["sha256"]},),
    )


@guard(Conflict, "ALREADY_SIGNED")
def signed_already(doc: Doc, args: Args) -> str:
    """A signature given again is refused, not passed over: the signer learns the version it signed
    holds its signature (the answer served since signatures were first given)."""
    return "You have signed this version already."


@guard(Conflict, "EXTENSION_PENDING")
def no_extension_pending(doc: Doc, args: Args) -> str | None:
    if (doc.get("extension") or {}).get("status") != EXTENSION_REQUESTED:
        return None
    return "An extension is already waiting for the visitor's partnership's decision."


@guard(RuleBroken, "EXTENSION_NOT_LATER")
def later_end_date(doc: Doc, args: Args) -> Refused | None:
    if args["end_date"] > doc["end_date"]:
        return None
    return Refused(
        f"An extension ends after the agreed end date, {doc['end_date']}.",
        ({"field": "end_date", "message": f"after {doc['end_date']}"},),
    )


@guard(Conflict, "NO_EXTENSION_REQUESTED")
def extension_requested(doc: Doc, args: Args) -> str | None:
    if (doc.get("extension") or {}).get("status") == EXTENSION_REQUESTED:
        return None
    return "No extension is waiting for a decision."


@guard(RuleBroken, "EVIDENCE_REQUIRED")
def evidence_accepted(doc: Doc, args: Args) -> str | None:
    # The lump sum follows the approval: it pays for a stay that something shows took place.
    if any(e["kind"] == EVIDENCE and e["status"] == ACCEPTED for e in (doc.get("uploads") or {}).values()):
        return None
    return "Approving the report needs at least one accepted evidence file of the stay."
