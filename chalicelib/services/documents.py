"""Uploaded documents: the registration's CV (presigned upload, the check after upload, download and
erasure). The check triggered by the storage event is the real guard on type and size."""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from typing import Any

from chalicelib import clock
from chalicelib.auth import Principal
from chalicelib.errors import Conflict, NotFound, PayloadTooLarge, RuleBroken
from chalicelib.observability import logger
from chalicelib.rules.registration import WITHDRAWN
from chalicelib.store import documents as files
from chalicelib.store import registrations as store
from chalicelib.store.audit import AuditEntry

CV_CONTENT_TYPE = "application/pdf"
CV_MAX_BYTES = 5 * 1024 * 1024  # "5 MB" read as 5 MiB, the larger of the two readings
UPLOAD_EXPIRES_SECONDS = 900
DOWNLOAD_EXPIRES_SECONDS = 300
PDF_MAGIC = b"%PDF-"

_CV_KEY = re.compile(r"cv/(?P<registration_id>reg_[0-9a-f]{32})/[0-9a-f]{32}\.pdf")
_ATTEMPTS = 3
_CHECKER = "system:document-check"

AWAITING_UPLOAD = "awaiting_upload"
ACCEPTED = "accepted"
REJECTED = "rejected"


def cv_key(registration_id: str) -> str:
    # Chosen by the server, never from the filename: a client cannot aim at another registration's files.
    return f"cv/{registration_id}/{uuid.uuid4().hex}.pdf"


def request_cv_upload(principal: Principal, filename: str, content_type: str, size: int) -> dict[str, Any]:
    """A presigned POST for the caller's CV; the registration then awaits the upload.

    A new request replaces the CV: a previously accepted file stays readable until the new upload
    has been checked, and is deleted then, whatever the outcome.
    """
    if content_type.split(";")[0].strip().lower() != CV_CONTENT_TYPE:
        raise RuleBroken(
            "A CV must be a PDF file.",
            code="UNSUPPORTED_FILE_TYPE",
            details=[
                {"code": "UNSUPPORTED_FILE_TYPE", "message": "only application/pdf", "field": "content_type"}
            ],
        )
    if size > CV_MAX_BYTES:
        raise PayloadTooLarge(
            f"A CV may be at most {CV_MAX_BYTES} bytes.",
            code="FILE_TOO_LARGE",
            details=[{"field": "size", "message": f"at most {CV_MAX_BYTES} bytes"}],
        )
    for _ in range(_ATTEMPTS):
        doc = store.get_for_user(principal.user_id)
        if doc is None:
            raise NotFound("You have no registration.")
        key = cv_key(doc["id"])
        upload = files.presigned_post(key, CV_CONTENT_TYPE, CV_MAX_BYTES, UPLOAD_EXPIRES_SECONDS)
        old = doc.get("cv") or {}
        previous = old.get("key") if old.get("status") == ACCEPTED else old.get("previous_key")
        now = clock.now_iso()
        updated = copy.deepcopy(doc)
        updated["cv"] = {
            "status": AWAITING_UPLOAD,
            "key": key,
            "filename": filename,
            "requested_at": now,
            "previous_key": previous,
        }
        updated["updated_at"] = now
        entry = AuditEntry(
            entity=store.audit_entity(doc["id"]),
            at=now,
            actor=principal.user_id,
            actor_role="participant",
            action="cv.upload_requested",
            from_status=doc["status"],
            to_status=doc["status"],
            fields=("cv",),
        )
        try:
            store.replace(updated, entry)
        except store.StaleVersion:
            continue
        return {
            "upload": {"url": upload["url"], "fields": upload["fields"]},
            "expires_in": UPLOAD_EXPIRES_SECONDS,
        }
    raise Conflict("The registration is being changed by someone else; try again.", code="VERSION_CONFLICT")


def _verdict(bucket: str, key: str) -> dict[str, Any] | None:
    """What the uploaded object is: accepted (size, sha256) or rejected (reason); None if it is gone."""
    head = files.head(bucket, key)
    if head is None:
        return None
    checked_at = clock.now_iso()
    # The object's real size, not the event's or the client's word for it.
    if head.size > CV_MAX_BYTES:
        return {"status": REJECTED, "key": key, "reason": "larger than 5 MB", "checked_at": checked_at}
    content = files.read(bucket, key) if head.size else b""
    if not content.startswith(PDF_MAGIC):
        return {"status": REJECTED, "key": key, "reason": "not a PDF", "checked_at": checked_at}
    return {
        "status": ACCEPTED,
        "key": key,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "checked_at": checked_at,
    }


def check_uploaded_object(bucket: str, key: str, size: int) -> None:
    """Check an object that landed in the documents bucket (one S3 notification). Idempotent: a key
    already checked, or no longer there, is left alone."""
    match = _CV_KEY.fullmatch(key)
    if not key.startswith("cv/"):
        logger.info("upload with an unknown prefix ignored", extra={"key": key})
        return
    doc = store.get(match["registration_id"]) if match else None
    if doc is None or doc["status"] == WITHDRAWN:
        # Nobody to hold it for (a malformed key, an unknown or withdrawn registration): never keep it.
        files.delete(bucket, key)
        logger.info("upload without a registration deleted", extra={"key": key, "size": size})
        return
    for _ in range(_ATTEMPTS):
        cv = doc.get("cv") or {}
        if key == cv.get("previous_key"):
            return  # a redelivered notice of the file being replaced: it stays until the new one is checked
        if key != cv.get("key"):
            files.delete(bucket, key)  # an upload to a form that a newer request replaced
            logger.info("superseded upload deleted", extra={"key": key})
            return
        if cv.get("status") != AWAITING_UPLOAD:
            if cv.get("status") == REJECTED:
                files.delete(bucket, key)  # finishes a delete that a crash may have cut short
            logger.info("upload already checked", extra={"key": key})
            return
        verdict = _verdict(bucket, key)
        if verdict is None:
            logger.info("uploaded object is gone", extra={"key": key})
            return
        verdict["filename"] = cv.get("filename")
        if cv.get("previous_key"):
            files.delete(bucket, cv["previous_key"])  # the owner asked to replace it
        if _record_verdict(doc, verdict):
            if verdict["status"] == REJECTED:
                files.delete(bucket, key)
            logger.info("cv checked", extra={"registration_id": doc["id"], "cv_status": verdict["status"]})
            return
        reread = store.get(doc["id"])
        if reread is None or reread["status"] == WITHDRAWN:
            files.delete(bucket, key)
            return
        doc = reread
    raise RuntimeError("the registration kept changing while its CV was checked")  # the queue retries


def _record_verdict(doc: dict[str, Any], verdict: dict[str, Any]) -> bool:
    updated = copy.deepcopy(doc)
    updated["cv"] = verdict
    updated["updated_at"] = verdict["checked_at"]
    entry = AuditEntry(
        entity=store.audit_entity(doc["id"]),
        at=verdict["checked_at"],
        actor=_CHECKER,
        actor_role="system",
        action=f"cv.{verdict['status']}",
        from_status=doc["status"],
        to_status=doc["status"],
        fields=("cv",),
    )
    try:
        store.replace(updated, entry)
    except store.StaleVersion:
        return False
    return True


def delete_cv_files(cv: dict[str, Any] | None) -> None:
    """Delete every stored file a registration's CV record points at (erasure)."""
    for key in {(cv or {}).get("key"), (cv or {}).get("previous_key")}:
        if key:
            files.delete(files.documents_bucket(), key)


def cv_export(cv: dict[str, Any] | None) -> dict[str, Any] | None:
    """The CV's metadata for the owner's export, with a short-lived link when there is a file."""
    if not cv:
        return None
    shown = {k: v for k, v in cv.items() if k not in ("key", "previous_key")}
    if cv.get("status") == ACCEPTED and cv.get("key"):
        shown["download_url"] = files.presigned_get(cv["key"], DOWNLOAD_EXPIRES_SECONDS)
        shown["expires_in"] = DOWNLOAD_EXPIRES_SECONDS
    return shown
