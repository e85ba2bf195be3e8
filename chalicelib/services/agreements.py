"""The exchange's generated agreements: rendered when the exchange is validated (a function triggered by
the exchanges stream), stored once per version in the artifacts bucket with their SHA-256, listed with
their signatures, downloaded through short-lived links, and signed by the parties."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from chalicelib import clock
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.observability import logger
from chalicelib.rules.exchange_flow import FLOW, ExchangeStatus
from chalicelib.services import exchanges
from chalicelib.services.writes import optimistic
from chalicelib.store import audit
from chalicelib.store import documents as files
from chalicelib.store import exchanges as store

COMMITMENT_TO_QUALITY = "commitment_to_quality"
FINANCIAL_AGREEMENT = "financial_agreement"
KINDS = (COMMITMENT_TO_QUALITY, FINANCIAL_AGREEMENT)
SIGN_ACTION = {kind: f"sign_{kind}" for kind in KINDS}
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


def latest(doc: dict[str, Any], kind: str) -> dict[str, Any] | None:
    versions = (doc.get("documents") or {}).get(kind) or []
    return versions[-1] if versions else None


def generate(doc: dict[str, Any]) -> dict[str, Any] | None:
    """Render both agreements for a validated exchange that has none for this validation yet, store them
    and record them on the exchange. Idempotent: a redelivered stream record changes nothing."""

    def attempt() -> dict[str, Any] | None:
        current = store.get(doc["id"])
        if current is None or current["status"] != ExchangeStatus.VALIDATED:
            return None
        documents = copy.deepcopy(current.get("documents") or {})
        if all((latest(current, k) or {}).get("validated_at") == current["validated_at"] for k in KINDS):
            return None  # already generated for this validation
        now = clock.now_iso()
        for kind in KINDS:
            version = len(documents.get(kind) or []) + 1
            content = _render(kind, {**current, "document_version": version})
            key = _key(current["id"], kind, version)
            files.put_new(files.artifacts_bucket(), key, content, "application/pdf")
            documents.setdefault(kind, []).append(
                {
                    "version": version,
                    "sha256": hashlib.sha256(content).hexdigest(),
                    "size": len(content),
                    "key": key,
                    "generated_at": now,
                    "validated_at": current["validated_at"],
                }
            )
        updated = {**current, "documents": documents, "updated_at": now}
        entry = audit.entry(
            store.AUDIT_KIND,
            current["id"],
            "exchange.documents_generated",
            actor=_GENERATOR,
            roles=None,
            at=now,
            from_status=current["status"],
            to_status=current["status"],
            fields=KINDS,
        )
        saved = store.replace(updated, entry)
        logger.info("agreements generated", extra={"exchange_id": current["id"]})
        return saved

    return optimistic(attempt, "The exchange")


def handle_stream_change(old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    if new is None or new["status"] != ExchangeStatus.VALIDATED:
        return
    generate(new)


def listing(principal: Principal, exchange_id: str) -> list[dict[str, Any]]:
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
                    "signatures": [
                        {k: s[k] for k in ("party", "at", "sha256")}
                        for s in signatures
                        if s["document"] == kind and s["version"] == entry["version"]
                    ],
                }
            )
    return items


def download(principal: Principal, exchange_id: str, kind: str) -> dict[str, Any]:
    doc, _ = exchanges.load(principal, exchange_id)
    if kind not in KINDS:
        raise NotFound("No such document.")
    entry = latest(doc, kind)
    if entry is None:
        raise Conflict(f"There is no {kind} for this exchange yet.", code="DOCUMENT_NOT_READY")
    url = files.presigned_get(entry["key"], DOWNLOAD_EXPIRES_SECONDS, files.artifacts_bucket())
    return {"url": url, "expires_in": DOWNLOAD_EXPIRES_SECONDS, "sha256": entry["sha256"]}


def sign(principal: Principal, exchange_id: str, kind: str, sha256: str) -> dict[str, Any]:
    """Sign the current version of a document for the caller's party (or parties): the hash must be the
    current version's, so nobody signs what they did not read."""
    if kind not in KINDS:
        raise InvalidInput("Unknown document.", details=[{"field": "document", "message": f"one of {KINDS}"}])

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        entry = latest(doc, kind)
        if entry is None or entry.get("validated_at") != doc.get("validated_at"):
            raise Conflict(f"The {kind} is not generated yet.", code="DOCUMENT_NOT_READY")
        if sha256 != entry["sha256"]:
            raise Conflict(
                "That is not the current version of the document.",
                code="STALE_DOCUMENT",
                details=[{"version": entry["version"], "sha256": entry["sha256"]}],
            )
        collect = next(t.collect for t in FLOW.transitions if t.action == SIGN_ACTION[kind])
        at = clock.now_iso()
        doc["signatures"] = [
            *(doc.get("signatures") or []),
            *(
                {
                    "document": kind,
                    "version": entry["version"],
                    "sha256": sha256,
                    "party": str(p),
                    "by": principal.user_id,
                    "at": at,
                }
                for p in sorted(found & collect)
            ),
        ]
        return doc

    return exchanges.move(principal, exchange_id, SIGN_ACTION[kind], None, change)


def decline(principal: Principal, exchange_id: str, kind: str, reason: str) -> dict[str, Any]:
    """A party declines to sign, with a reason the other parties see: the exchange goes back to the
    participants (changes requested); signatures already given stay on record."""

    def change(doc: dict[str, Any], found: set[str]) -> dict[str, Any]:
        doc["notes"] = {**(doc.get("notes") or {}), "declined": f"{kind}: {reason}"}
        return doc

    return exchanges.move(principal, exchange_id, "decline_to_sign", None, change)
