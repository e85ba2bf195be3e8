"""An exchange's uploaded files: a signed scan (a document signed outside the tool, which counts as its
party's signature once the check accepts it) and evidence that the stay took place. Keys, the check and
stored copies are services.uploads; this module is the exchange's row of it: the upload form, what the
check records on the exchange, and the listing and links of the files.

The exchange's `uploads` holds, by upload id: `kind`, the grant's `key`, `status`, `filename`, who asked
(`by`, `parties`) and when; for a scan, the `document` and the `version` and `sha256` it signs; once
checked, `etag`, `size`, `sha256_file`, `stored_key` and `checked_at`, or the `reason` it was rejected;
`counted` tells whether an accepted scan became a signature (not when the document changed meanwhile).
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib import clock
from chalicelib.auth import Principal
from chalicelib.errors import DomainError, NotFound, RuleBroken
from chalicelib.rules.exchange_flow import FLOW, ExchangeStatus
from chalicelib.rules.exchange_guards import EVIDENCE, SIGNED_SCAN
from chalicelib.rules.exchange_model import Act, Exchange
from chalicelib.rules.signing import KINDS, SIGN_ACTION, current
from chalicelib.services import exchanges, uploads
from chalicelib.store import exchanges as store
from chalicelib.store.writes import StaleVersion

UPLOAD_KINDS = (SIGNED_SCAN, EVIDENCE)
_ACTION = {SIGNED_SCAN: "upload_signed_scan", EVIDENCE: "upload_evidence"}
_NOT_COUNTED = "not counted: the exchange or its document changed since this scan was asked for"


def request_upload(
    principal: Principal,
    exchange_id: str,
    kind: str,
    filename: str,
    content_type: str,
    size: int,
    document: str | None = None,
) -> dict[str, Any]:
    """A presigned POST for one file of the exchange; the exchange records it as awaiting its upload."""
    row = uploads.row("exchange")
    file_type = row.rule.requested_type(content_type, size)
    if kind == SIGNED_SCAN and document not in KINDS:
        # The body is well formed (document is optional: evidence names none): a rule of the upload's
        # kind, answered as rules are (422), not as bad input.
        raise RuleBroken(
            "A signed scan names the document it signs.",
            code="DOCUMENT_REQUIRED",
            details=[{"field": "document", "message": f"one of {', '.join(KINDS)}"}],
        )
    try:
        key, granted = uploads.upload_form(row, exchange_id, file_type)
    except ValueError:
        raise NotFound("No such exchange.") from None  # not an exchange's id: there is none to load
    upload_id = f"upl_{uuid.uuid4().hex}"
    entry = {
        "id": upload_id,
        "kind": kind,
        "key": key,
        "status": uploads.AWAITING_UPLOAD,
        "filename": filename,
        "by": principal.user_id,
        "requested_at": clock.now_iso(),
    }
    # A scan names its document: the exchange adds the version it signs and the parties it signs for.
    args = {"upload": entry, **({"document": document} if kind == SIGNED_SCAN else {})}
    exchanges.act(principal, exchange_id, _ACTION[kind], args, fields=("uploads",))
    return {**granted, "id": upload_id}


class _ExchangeUploads:
    """The exchange row's holder (uploads.Holder): an exchange holds one grant per upload id."""

    audit_kind = store.AUDIT_KIND

    def load(self, owner: str) -> dict[str, Any] | None:
        return store.get(owner)

    def _entry(self, doc: dict[str, Any], key: str) -> dict[str, Any] | None:
        return next((e for e in (doc.get("uploads") or {}).values() if e["key"] == key), None)

    def grant(self, doc: dict[str, Any], key: str) -> uploads.Grant | None:
        entry = self._entry(doc, key)
        if entry is None:
            return None
        if doc["status"] == ExchangeStatus.CANCELLED and entry["status"] == uploads.AWAITING_UPLOAD:
            return None  # nobody will use a file that arrives after the exchange was cancelled
        return uploads.Grant(
            status=entry["status"],
            key=key,
            etag=entry.get("etag"),
            sha256=entry.get("sha256_file"),
            stored_key=entry.get("stored_key"),
            checked_at=entry.get("checked_at"),
        )

    def settle(self, doc: dict[str, Any], verdict: uploads.Verdict) -> bool:
        entry = self._entry(doc, verdict.key)
        if entry is None:
            return True
        settled = {**entry, "status": verdict.status, "etag": verdict.etag, "checked_at": verdict.checked_at}
        if verdict.status == uploads.ACCEPTED:
            settled.update(size=verdict.size, sha256_file=verdict.sha256, stored_key=verdict.stored_key)
        else:
            settled["reason"] = verdict.reason
        signs = verdict.status == uploads.ACCEPTED and entry["kind"] == SIGNED_SCAN
        if signs and not self._still_signs(doc, entry):
            settled.update(counted=False, reason=_NOT_COUNTED)
            signs = False
        elif signs:
            settled["counted"] = True

        # An accepted scan is its parties' signature: the same step of the flow as signing in the tool.
        exchange = Exchange.from_document(doc)
        try:
            if signs:
                taken = Act(
                    SIGN_ACTION[entry["document"]],
                    frozenset(entry["parties"]),
                    uploads.CHECKER,
                    verdict.checked_at,
                    {"document": entry["document"], "sha256": entry["sha256"], "upload": settled},
                )
                exchanges.commit(exchange, taken, ("signatures",))
            else:
                name = f"{entry['kind']}.{verdict.status}"
                exchanges.record(exchange, exchange.with_upload(settled), name, uploads.CHECKER, ("uploads",))
        except StaleVersion:
            return False
        return True

    def _still_signs(self, doc: dict[str, Any], entry: dict[str, Any]) -> bool:
        version = current(doc, entry["document"])
        if version is None or version["sha256"] != entry["sha256"]:
            return False
        acted = set((doc.get("acted") or {}).get(SIGN_ACTION[entry["document"]], ()))
        try:
            FLOW.check(ExchangeStatus(doc["status"]), SIGN_ACTION[entry["document"]], set(entry["parties"]))
        except DomainError:
            return False  # the exchange moved on (cancelled, declined) since the scan was asked for
        return not set(entry["parties"]) <= acted  # signed in the tool meanwhile: nothing more to count

    def keeps(self, doc: dict[str, Any], stored_key: str) -> str | None:
        entry = next(
            (e for e in (doc.get("uploads") or {}).values() if e.get("stored_key") == stored_key), None
        )
        if entry is None or entry["status"] != uploads.ACCEPTED:
            return None
        return str(entry["sha256_file"])


EXCHANGE_UPLOADS = _ExchangeUploads()


def uploaded(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The exchange's uploaded files for its documents listing, oldest first."""
    items = []
    for entry in sorted((doc.get("uploads") or {}).values(), key=lambda e: e["requested_at"]):
        items.append(
            {
                "kind": entry["kind"],
                "id": entry["id"],
                "status": entry["status"],
                "filename": entry.get("filename"),
                "document": entry.get("document"),
                "version": entry.get("version"),
                "sha256": entry.get("sha256_file"),
                "size": entry.get("size"),
                "uploaded_at": entry.get("checked_at") or entry["requested_at"],
                "reason": entry.get("reason"),
                "counted": entry.get("counted"),
                "signatures": [],
            }
        )
    return items


def accepted_file(doc: dict[str, Any], kind: str, upload_id: str | None) -> dict[str, Any]:
    """An accepted file of this kind: the one named, or the latest."""
    accepted = [
        e
        for e in sorted((doc.get("uploads") or {}).values(), key=lambda e: e["requested_at"])
        if e["kind"] == kind and e["status"] == uploads.ACCEPTED and upload_id in (None, e["id"])
    ]
    if not accepted:
        raise NotFound(f"No accepted {kind} file.")
    return accepted[-1]


def link(entry: dict[str, Any]) -> dict[str, Any]:
    found = uploads.download(entry["stored_key"])
    return {"url": found["download_url"], "expires_in": found["expires_in"], "sha256": entry["sha256_file"]}
