"""The registration's CV: its upload form, what the check after upload records on the registration,
the owner's export and the erasure of its files. Keys, the check and stored copies are services.uploads.

The registration's `cv` holds, besides the fields the API shows: `key` (the one upload key its last
form granted), `etag` (of the upload a verdict consumed), `stored_key` (where the accepted bytes are
kept) and `previous` (the accepted CV a new request replaces, until the new upload is checked).
"""

from __future__ import annotations

import copy
from typing import Any

from chalicelib import clock, notifications
from chalicelib.auth import Principal
from chalicelib.errors import NotFound
from chalicelib.rules.registration import LIFECYCLE, WITHDRAWN, RegistrationStatus
from chalicelib.services import uploads
from chalicelib.services.writes import optimistic
from chalicelib.store import audit, files
from chalicelib.store import registrations as store
from chalicelib.store.outbox import Effect, Item

AWAITING_UPLOAD = uploads.AWAITING_UPLOAD
ACCEPTED = uploads.ACCEPTED
REJECTED = uploads.REJECTED
# The owner told why the check rejected its CV: written with the verdict, delivered from the outbox.
TELL_CV_REJECTED = "tell_cv_rejected"


_SHOWN = ("status", "filename", "size", "sha256", "reason", "requested_at", "checked_at")


def request_cv_upload(principal: Principal, filename: str, content_type: str, size: int) -> dict[str, Any]:
    """A presigned POST for the caller's CV; the registration then awaits the upload.

    A new request replaces the CV: a previously accepted file is kept until the new upload has been
    checked, and deleted then, whatever the outcome.
    """
    cv_uploads = uploads.row("cv")
    file_type = cv_uploads.rule.requested_type(content_type, size)

    def attempt() -> dict[str, Any]:
        doc = store.get_for_user(principal.user_id)
        if doc is None:
            raise NotFound("You have no registration.")
        parties = {"owner"}  # the registration is the caller's own, found through its user id
        LIFECYCLE.check(RegistrationStatus(doc["status"]), "upload_cv", parties)
        key, form = uploads.upload_form(cv_uploads, doc["id"], file_type)
        old = doc.get("cv") or {}
        previous = old.get("previous")
        if old.get("status") == ACCEPTED and old.get("stored_key"):
            previous = {"stored_key": old["stored_key"], "sha256": old.get("sha256")}
        now = clock.now_iso()
        updated = copy.deepcopy(doc)
        updated["cv"] = {
            "status": AWAITING_UPLOAD,
            "key": key,
            "filename": filename,
            "requested_at": now,
            "previous": previous,
        }
        updated["updated_at"] = now
        entry = audit.entry(
            store.AUDIT_KIND,
            doc["id"],
            "cv.upload_requested",
            actor=principal.user_id,
            roles=principal.roles,
            as_role="participant",
            at=now,
            from_status=doc["status"],
            to_status=doc["status"],
            fields=("cv",),
        )
        store.replace(updated, entry)
        return form

    return optimistic(attempt, "The registration")


class _CvUploads:
    """The CV row's holder (uploads.Holder): a registration holds one grant, its latest form's key."""

    audit_kind = store.AUDIT_KIND

    def load(self, owner: str) -> dict[str, Any] | None:
        return store.get(owner)

    def grant(self, doc: dict[str, Any], key: str) -> uploads.Grant | None:
        cv = doc.get("cv") or {}
        if doc["status"] == WITHDRAWN or cv.get("key") != key:
            return None
        return uploads.Grant(
            status=cv["status"],
            key=key,
            etag=cv.get("etag"),
            sha256=cv.get("sha256"),
            stored_key=cv.get("stored_key"),
            checked_at=cv.get("checked_at"),
        )

    def settle(self, doc: dict[str, Any], verdict: uploads.Verdict) -> bool:
        old = doc.get("cv") or {}
        previous = (old.get("previous") or {}).get("stored_key")
        if previous:
            # The owner asked to replace it. Deleted before the record that forgets it, so a crash in
            # between leaves a record naming a deleted file, never a file no record names.
            files.delete(files.documents_bucket(), previous)
        cv: dict[str, Any] = {
            "status": verdict.status,
            "key": verdict.key,
            "etag": verdict.etag,
            "filename": old.get("filename"),
            "requested_at": old.get("requested_at"),
            "checked_at": verdict.checked_at,
        }
        if verdict.status == ACCEPTED:
            cv.update(size=verdict.size, sha256=verdict.sha256, stored_key=verdict.stored_key)
        else:
            cv["reason"] = verdict.reason
        updated = copy.deepcopy(doc)
        updated["cv"] = cv
        updated["updated_at"] = verdict.checked_at
        entry = audit.entry(
            store.AUDIT_KIND,
            doc["id"],
            f"cv.{verdict.status}",
            actor=uploads.CHECKER,
            roles=None,
            at=verdict.checked_at,
            from_status=doc["status"],
            to_status=doc["status"],
            fields=("cv",),
        )
        told = (Effect(TELL_CV_REJECTED, {"key": verdict.key}),) if verdict.status == REJECTED else ()
        try:
            store.replace(updated, entry, effects=told)
        except store.StaleVersion:
            return False
        return True

    def keeps(self, doc: dict[str, Any], stored_key: str) -> str | None:
        cv = doc.get("cv") or {}
        if doc["status"] == WITHDRAWN:
            return None
        if cv.get("status") == ACCEPTED and cv.get("stored_key") == stored_key:
            return str(cv["sha256"])
        previous = cv.get("previous") or {}
        if previous.get("stored_key") == stored_key and previous.get("sha256"):
            return str(previous["sha256"])
        return None


CV_UPLOADS = _CvUploads()


def delete_cv_files(cv: dict[str, Any] | None) -> None:
    """Delete every file a registration's CV record names (erasure): the upload key (it may hold an
    upload not checked yet), the stored file and the one it replaces. A check that stores a file
    after this finds no registration to hold it, and removes it."""
    cv = cv or {}
    named = {cv.get("key"), cv.get("stored_key"), (cv.get("previous") or {}).get("stored_key")}
    for key in sorted(k for k in named if k):
        files.delete(files.documents_bucket(), key)


def cv_export(cv: dict[str, Any] | None) -> dict[str, Any] | None:
    """The CV's metadata for the owner's export, with a short-lived link when a file is kept."""
    if not cv:
        return None
    shown = {name: cv[name] for name in _SHOWN if name in cv}
    if cv.get("status") == ACCEPTED and cv.get("stored_key"):
        shown.update(uploads.download(cv["stored_key"]))
    return shown


def deliver_rejected(item: Item) -> None:
    """The `tell_cv_rejected` effect: the owner is told why its CV was rejected, while that verdict is
    the CV's (a new file accepted since tells nobody), once per upload."""
    doc = store.get(item.subject_id)
    cv = (doc or {}).get("cv") or {}
    email = ((doc or {}).get("representative") or {}).get("email")
    if doc is None or cv.get("status") != REJECTED or cv.get("key") != item.args.get("key") or not email:
        return
    upload = {
        "filename": cv.get("filename"),
        "what": "CV",
        "reason": cv.get("reason") or "it could not be read",
    }
    notifications.send(
        "upload_rejected",
        [notifications.Recipient(email, "owner")],
        {"upload": upload, "exchange": None},
        f"registration#{doc['id']}#cv#{cv.get('etag')}",
        "/registrations/me",
    )
