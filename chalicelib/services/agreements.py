"""The exchange's generated agreements: rendered when the exchange is validated (the `render_agreements`
effect of that step, delivered from the outbox), stored once per version in the artifacts bucket with
their SHA-256, listed with their signatures and the fields each version changed, downloaded through
short-lived links, and signed by the parties. An amendment renders again only the documents whose
content changed."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

from chalicelib import clock
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.observability import logger
from chalicelib.rules.exchange_flow import ExchangeStatus
from chalicelib.rules.signing import (
    COMMITMENT_TO_QUALITY,
    FINANCIAL_AGREEMENT,
    KINDS,
    SIGN_ACTION,
    carried,
    current,
)
from chalicelib.services import exchange_uploads, exchanges
from chalicelib.services.writes import optimistic
from chalicelib.store import audit, files
from chalicelib.store import exchanges as store
from chalicelib.store.outbox import Item

DOWNLOAD_EXPIRES_SECONDS = 300
_GENERATOR = "system:agreements"


def _key(exchange_id: str, kind: str, version: int) -> str:
    return f"exchanges/{exchange_id}/{kind}/v{version}.pdf"


def _render(kind: str, doc: dict[str, Any]) -> bytes:
    from chalicelib.agreements import render

    renderer = (
        render.render_commitment_to_quality
        if kind == COMMITMENT_TO_QUALITY
        else render.render_financial_agreement
    )
    return renderer(doc)


def _field_digests(kind: str, doc: dict[str, Any]) -> dict[str, str]:
    """A short hash of each field the document shows: versions are compared field by field, so the
    listing can say what an amendment changed without keeping a copy of every version's content."""
    from chalicelib.agreements import render

    content = (
        render.commitment_to_quality_content(doc)
        if kind == COMMITMENT_TO_QUALITY
        else render.financial_agreement_content(doc)
    )
    return {
        field: hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
        for field, value in content.items()
    }


def deliver(item: Item) -> None:
    """The `render_agreements` effect."""
    generate(item.subject_id)


def generate(exchange_id: str) -> dict[str, Any] | None:
    """Render the agreements of a validated exchange whose content changed since their last version,
    store them and record them on the exchange; a document whose content did not change keeps its
    version, and the signatures on it still count. Idempotent: a redelivery changes nothing, and one
    for an exchange no longer validated does nothing."""

    def attempt() -> dict[str, Any] | None:
        current_doc = store.get(exchange_id)
        if current_doc is None or current_doc["status"] != ExchangeStatus.VALIDATED:
            return None
        if all(current(current_doc, k) is not None for k in KINDS):
            return None  # already generated for this validation
        documents = copy.deepcopy(current_doc.get("documents") or {})
        now = clock.now_iso()
        rendered = []
        for kind in KINDS:
            versions = documents.setdefault(kind, [])
            last = versions[-1] if versions else None
            fields = _field_digests(kind, current_doc)
            if last is not None and last.get("fields") == fields:
                last["validated_at"] = current_doc["validated_at"]  # unchanged: it is still the one to sign
                continue
            version = len(versions) + 1
            content = _render(kind, {**current_doc, "document_version": version})
            key = _key(current_doc["id"], kind, version)
            files.put_new(files.artifacts_bucket(), key, content, "application/pdf")
            versions.append(
                {
                    "version": version,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "key": key,
                    "generated_at": now,
                    "validated_at": current_doc["validated_at"],
                    "fields": fields,
                    # The fields this version changed from the one before (none for the first).
                    "changed": sorted(
                        f for f in fields if last and (last.get("fields") or {}).get(f) != fields[f]
                    ),
                }
            )
            rendered.append(kind)
        updated = {**current_doc, "documents": documents, "updated_at": now}
        # Signatures on a version the amendment left alone count at once.
        status, acted = carried(
            ExchangeStatus(current_doc["status"]), current_doc.get("acted") or {}, updated
        )
        updated.update(status=status, acted=acted)
        entry = audit.entry(
            store.AUDIT_KIND,
            current_doc["id"],
            "exchange.documents_generated",
            actor=_GENERATOR,
            roles=None,
            at=now,
            from_status=current_doc["status"],
            to_status=status,
            fields=tuple(rendered),
        )
        saved = store.replace(updated, entry, effects=exchanges.caused(current_doc, updated, ()))
        logger.info("agreements generated", extra={"exchange_id": current_doc["id"], "kinds": rendered})
        return saved

    return optimistic(attempt, "The exchange")


def listing(principal: Principal, exchange_id: str) -> list[dict[str, Any]]:
    """Every version of the generated agreements with their signatures, then the uploaded files."""
    doc, _ = exchanges.load(principal, exchange_id)
    signatures = doc.get("signatures") or []
    items = []
    for kind in KINDS:
        for entry in (doc.get("documents") or {}).get(kind) or []:
            items.append(
                {
                    "kind": kind,
                    "version": entry["version"],
                    "sha256": entry["sha256"],
                    "size": entry["size"],
                    "uploaded_at": entry["generated_at"],
                    "current": entry is current(doc, kind),
                    "changed_fields": entry.get("changed") or [],
                    "signatures": [
                        {"party": s["party"], "at": s["at"], "sha256": s["sha256"], "scan": s.get("scan")}
                        for s in signatures
                        if s["document"] == kind and s["version"] == entry["version"]
                    ],
                }
            )
    return items + exchange_uploads.uploaded(doc)


def download(
    principal: Principal, exchange_id: str, kind: str, upload_id: str | None = None
) -> dict[str, Any]:
    """A short-lived link to the current version of a generated agreement, or to an accepted upload
    (the one named, else the latest of its kind). The financial agreement and scans of it name the
    VO's bank account, so the host side gets neither."""
    doc, found = exchanges.load(principal, exchange_id)
    if kind in exchange_uploads.UPLOAD_KINDS:
        entry = exchange_uploads.accepted_file(doc, kind, upload_id)
        if entry.get("document") == FINANCIAL_AGREEMENT:
            exchanges.require_bank_account_party(found)
        return exchange_uploads.link(entry)
    if kind not in KINDS:
        raise NotFound("No such document.")
    if kind == FINANCIAL_AGREEMENT:
        exchanges.require_bank_account_party(found)
    versions = (doc.get("documents") or {}).get(kind) or []
    if not versions:
        raise Conflict(f"There is no {kind} for this exchange yet.", code="DOCUMENT_NOT_READY")
    entry = versions[-1]
    url = files.presigned_get(entry["key"], DOWNLOAD_EXPIRES_SECONDS, files.artifacts_bucket())
    return {"url": url, "expires_in": DOWNLOAD_EXPIRES_SECONDS, "sha256": entry["sha256"]}


def sign(principal: Principal, exchange_id: str, kind: str, sha256: str) -> dict[str, Any]:
    """Sign the current version of a document for the caller's party (or parties): the hash must be the
    current version's, so nobody signs what they did not read."""
    if kind not in KINDS:
        raise InvalidInput("Unknown document.", details=[{"field": "document", "message": f"one of {KINDS}"}])

    args = {"document": kind, "sha256": sha256}
    return exchanges.act(principal, exchange_id, SIGN_ACTION[kind], args)


def decline(principal: Principal, exchange_id: str, kind: str, reason: str) -> dict[str, Any]:
    """A party declines to sign, with a reason the other parties see: the exchange goes back to the
    participants (changes requested); signatures already given stay on record."""

    return exchanges.act(principal, exchange_id, "decline_to_sign", {"document": kind, "reason": reason})
