"""Files uploaded with a presigned POST, whatever they are for: one-time upload keys, the check the
storage event triggers, and the stored copies that downloads serve.

A form grants one new key `<prefix><owner>/<upload id>.<ext>` of a row of `table()`. The check reads
the object once, tells its type from its first bytes and then opens it as that type (a PDF must have
pages, an image must decode), checks its size and hashes it; it records the verdict
with the owner, writes exactly the bytes it hashed to `stored/<the same key>` (a prefix no form
grants), and removes the upload. Anything else that lands in the bucket (a re-post of a used form, a
key under no known prefix, a stored key its owner does not hold with that hash) is removed, with an
audit entry and a log line.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

from chalicelib import clock
from chalicelib.errors import RuleBroken, TooLarge
from chalicelib.observability import logger
from chalicelib.store import audit, files
from chalicelib.store.files import FetchedObject

AWAITING_UPLOAD = "awaiting_upload"
ACCEPTED = "accepted"
REJECTED = "rejected"

STORED_PREFIX = "stored/"
UPLOAD_EXPIRES_SECONDS = 900
DOWNLOAD_EXPIRES_SECONDS = 300
MB = 1024 * 1024  # "5 MB" read as MiB, the larger of the two readings
CHECKER = "system:document-check"
# The audit trail of removed objects that name no owner: entity "upload#unowned".
UNOWNED = ("upload", "unowned")
LOST_REASON = "replaced before it was kept; upload it again"
# A check that recorded a verdict has written the stored file within the function's timeout (30 s);
# until this long after the verdict, a missing stored file may still be on its way.
KEEP_WITHIN_SECONDS = 60

_ATTEMPTS = 3
_UPLOAD_ID = "[0-9a-f]{32}"


# A scan of an A4 page at 600 dpi is 35 million pixels; decoded at 4 bytes a pixel, 40 million fit
# the smallest function's memory (512 MB) with the file and the runtime beside them.
MAX_IMAGE_PIXELS = 40_000_000


def _pdf_fault(content: bytes) -> str | None:
    """Why the bytes do not open as a PDF with at least one page, or None if they do."""
    # Imported here: with what it loads (Pillow, cryptography) about half a second, paid by the check
    # alone, and only once it has a file that starts as a PDF.
    from pypdf import PdfReader

    try:
        # Lenient: scanners write small faults a reader repairs (a wrong offset in the cross-reference
        # table); a file that is not a PDF at all still fails.
        reader = PdfReader(io.BytesIO(content), strict=False)
        # An empty user password is how a PDF that only restricts printing or editing is encrypted;
        # any reader opens it without asking, and so does the check.
        if reader.is_encrypted and not reader.decrypt(""):
            return "it is encrypted with a password"
        pages = len(reader.pages)
    # A parser fed hostile bytes fails in many ways of its own and of Python's (KeyError, ValueError,
    # RecursionError, ...): every one of them means the file does not open.
    except Exception:
        return "it does not open as one"
    return None if pages else "it has no pages"


def _image_fault(pillow_format: str) -> Callable[[bytes], str | None]:
    def fault(content: bytes) -> str | None:
        """Why the bytes do not decode as an image of this format within the pixel limit, or None."""
        from PIL import Image  # imported here: the check alone uses it, once it has an image

        # Pillow reads its decompression-bomb limit from the module; lower than its default.
        Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
        too_large = f"more than {MAX_IMAGE_PIXELS // 1_000_000} million pixels"
        try:
            with warnings.catch_warnings():
                # Pillow only warns between the limit and twice it: a refusal here as well.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(content), formats=[pillow_format]) as image:
                    # The header's own claim, whatever the warning filters of other threads do.
                    if image.width * image.height > MAX_IMAGE_PIXELS:
                        return too_large
                    image.verify()  # the structure and checksums, without decoding
                # verify() leaves the image unusable; decoding every pixel needs a fresh open.
                with Image.open(io.BytesIO(content), formats=[pillow_format]) as image:
                    image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return too_large
        # As for a PDF: however decoding hostile bytes fails, the file does not decode.
        except Exception:
            return "it does not decode as one"
        return None

    return fault


@dataclass(frozen=True)
class FileType:
    name: str
    content_type: str
    extension: str
    signature: bytes
    # Why a file that starts with the signature is still not one (None when it opens as one): the
    # first bytes are only what the file claims to be.
    fault: Callable[[bytes], str | None]

    def matches(self, content: bytes) -> bool:
        return content.startswith(self.signature)


PDF = FileType("PDF", "application/pdf", "pdf", b"%PDF-", _pdf_fault)
PNG = FileType("PNG", "image/png", "png", b"\x89PNG\r\n\x1a\n", _image_fault("PNG"))
JPEG = FileType("JPEG", "image/jpeg", "jpg", b"\xff\xd8\xff", _image_fault("JPEG"))


@dataclass(frozen=True)
class FileRule:
    """What one kind of upload may be. `noun` names it in refusals ("A CV")."""

    noun: str
    types: tuple[FileType, ...]
    max_bytes: int

    @property
    def types_text(self) -> str:
        names = [t.name for t in self.types]
        return "a " + (names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}")

    def requested_type(self, content_type: str, size: int) -> FileType:
        """The type a client asks to upload, if this rule allows it at that size."""
        declared = content_type.split(";")[0].strip().lower()
        chosen = next((t for t in self.types if t.content_type == declared), None)
        if chosen is None:
            allowed = ", ".join(t.content_type for t in self.types)
            raise RuleBroken(
                f"{self.noun} must be {self.types_text} file.",
                code="UNSUPPORTED_FILE_TYPE",
                details=[
                    {"code": "UNSUPPORTED_FILE_TYPE", "message": f"only {allowed}", "field": "content_type"}
                ],
            )
        if size > self.max_bytes:
            raise TooLarge(
                f"{self.noun} may be at most {self.max_bytes} bytes.",
                code="FILE_TOO_LARGE",
                details=[{"field": "size", "message": f"at most {self.max_bytes} bytes"}],
            )
        return chosen

    def type_of(self, content: bytes) -> FileType | None:
        """The type the file's first bytes claim (judge() checks the claim)."""
        return next((t for t in self.types if t.matches(content)), None)

    def judge(self, fetched: FetchedObject) -> tuple[FileType | None, str | None]:
        """The object's type if it may be kept, else the reason it may not."""
        if fetched.content is None:  # the object's real size, not the event's or the client's word
            return None, f"larger than {self.max_bytes // MB} MB"
        found = self.type_of(fetched.content)
        if found is None:
            return None, f"not {self.types_text}"
        fault = found.fault(fetched.content)
        return (None, f"not a readable {found.name}: {fault}") if fault else (found, None)


@dataclass(frozen=True)
class Grant:
    """What an owner records of one upload key: awaiting its upload, or the verdict that consumed it."""

    status: str
    key: str
    etag: str | None = None  # of the upload the verdict consumed
    sha256: str | None = None
    stored_key: str | None = None
    checked_at: str | None = None


@dataclass(frozen=True)
class Verdict:
    status: str  # ACCEPTED or REJECTED
    key: str
    etag: str
    checked_at: str
    size: int | None = None
    sha256: str | None = None
    stored_key: str | None = None
    content_type: str | None = None
    reason: str | None = None


class Holder(Protocol):
    """Where the owners of one kind of upload record their grants (a registration's CV, ...)."""

    audit_kind: str  # the owners' audit trail is "<audit_kind>#<owner>"

    def load(self, owner: str) -> Any | None:
        """The owner's record as it is now; None if there is no such owner."""

    def grant(self, record: Any, key: str) -> Grant | None:
        """The grant of this upload key, if the owner still holds one (not replaced, not withdrawn)."""

    def settle(self, record: Any, verdict: Verdict) -> bool:
        """Record the verdict on its grant, with an audit entry, if the record is unchanged since it
        was loaded; False if it changed (the check loads it again)."""

    def keeps(self, record: Any, stored_key: str) -> str | None:
        """The SHA-256 of the file the owner holds at this stored key; None if it holds none there."""


@dataclass(frozen=True)
class Row:
    """One kind of upload: the keys its forms grant (`owner` is a pattern of the owner's part), what
    a file may be, and who holds the grants."""

    kind: str
    prefix: str
    owner: str
    rule: FileRule
    holder: Holder

    def new_key(self, owner: str, file_type: FileType) -> str:
        # Chosen by the server, never from the filename, and new for every form: a key is granted once.
        if not re.fullmatch(self.owner, owner):
            raise ValueError(f"not an owner of {self.kind} uploads: {owner!r}")
        return f"{self.prefix}{owner}/{uuid.uuid4().hex}.{file_type.extension}"

    def owner_of(self, key: str) -> str | None:
        """The owner a well-formed key of this row names; None for any other key."""
        extensions = "|".join(re.escape(t.extension) for t in self.rule.types)
        pattern = rf"{re.escape(self.prefix)}(?P<owner>{self.owner})/{_UPLOAD_ID}\.(?:{extensions})"
        match = re.fullmatch(pattern, key)
        return match["owner"] if match else None


@cache
def table() -> tuple[Row, ...]:
    """Every kind of upload, by the key prefix its forms grant. A new kind is one row and its holder."""
    # Imported here: the holders live with their use cases, which import this module.
    from chalicelib.services import cv, exchange_uploads, support_queries

    return (
        Row(
            kind="cv",
            prefix="cv/",
            owner=r"reg_[0-9a-f]{32}",
            rule=FileRule("A CV", (PDF,), 5 * MB),
            holder=cv.CV_UPLOADS,
        ),
        # An exchange's signed scans and evidence; the exchange records which is which.
        Row(
            kind="exchange",
            prefix="exchanges/",
            owner=r"exc_[0-9a-f]{32}",
            rule=FileRule("A document", (PDF, PNG, JPEG), 10 * MB),
            holder=exchange_uploads.EXCHANGE_UPLOADS,
        ),
        # A support query's screenshot.
        Row(
            kind="screenshot",
            prefix="support/",
            owner=r"sq_[0-9a-f]{32}",
            rule=FileRule("A screenshot", (PNG, JPEG), 10 * MB),
            holder=support_queries.SCREENSHOTS,
        ),
    )


def row(kind: str) -> Row:
    return next(r for r in table() if r.kind == kind)


def _row_for(key: str) -> Row | None:
    return next((r for r in table() if key.startswith(r.prefix)), None)


def upload_form(kind: Row, owner: str, file_type: FileType) -> tuple[str, dict[str, Any]]:
    """A new upload key for the owner (to record as awaiting its upload) and the presigned POST that
    grants it, bound to that key, that type and the rule's size."""
    key = kind.new_key(owner, file_type)
    post = files.presigned_post(key, file_type.content_type, kind.rule.max_bytes, UPLOAD_EXPIRES_SECONDS)
    return key, {
        "upload": {"url": post["url"], "fields": post["fields"]},
        "expires_in": UPLOAD_EXPIRES_SECONDS,
    }


def download(stored_key: str) -> dict[str, Any]:
    """A short-lived link to a stored file (never to an upload key, which a form could still write)."""
    if not stored_key.startswith(STORED_PREFIX):
        raise ValueError("only stored files are served")
    return {
        "download_url": files.presigned_get(stored_key, DOWNLOAD_EXPIRES_SECONDS),
        "expires_in": DOWNLOAD_EXPIRES_SECONDS,
    }


def stored_key_for(key: str, file_type: FileType) -> str:
    return f"{STORED_PREFIX}{key.rsplit('.', 1)[0]}.{file_type.extension}"


class FileNotKeptYet(RuntimeError):
    """An accepted file's stored copy is not there yet; the queue delivers the notice again later."""


# --- the check ------------------------------------------------------------------------------------


def check_uploaded_object(bucket: str, key: str, size: int = 0) -> None:
    """Check one object that landed in the documents bucket (one S3 notification). Idempotent: a
    redelivered notice finds its object kept or gone, and changes nothing."""
    if key.startswith(STORED_PREFIX):
        _check_stored(bucket, key)
        return
    kind = _row_for(key)
    if kind is None:
        _discard(bucket, key, None, None, "unknown_prefix")
        return
    owner = kind.owner_of(key)
    if owner is None:
        _discard(bucket, key, kind, None, "no_owner")
        return
    for _ in range(_ATTEMPTS):
        if _check_upload(bucket, key, kind, owner):
            return
    raise RuntimeError("the owner's record kept changing while its upload was checked")  # the queue retries


def _check_upload(bucket: str, key: str, kind: Row, owner: str) -> bool:
    """One attempt; False when the owner's record changed under it."""
    record = kind.holder.load(owner)
    if record is None:
        _discard(bucket, key, kind, None, "no_owner")
        return True
    grant = kind.holder.grant(record, key)
    if grant is None:
        # A form the owner has since replaced, or an owner who withdrew: no one will hold this file.
        _discard(bucket, key, kind, owner, "not_granted")
        return True
    fetched = files.fetch(bucket, key, kind.rule.max_bytes)
    if grant.status != AWAITING_UPLOAD:
        return _check_consumed(bucket, key, kind, owner, record, grant, fetched)
    if fetched is None:
        return True  # removed by a check that consumed it since `record` was read
    verdict = _verdict(kind, key, fetched)
    # The verdict first: once it names the stored key, that key's own notice finds it expected.
    if not kind.holder.settle(record, verdict):
        return False
    if verdict.stored_key and verdict.content_type and fetched.content is not None:
        _keep(bucket, verdict.stored_key, fetched.content, verdict.content_type)
    # Only the object that was checked: a re-post that landed since stays for its own notice.
    files.delete_if(bucket, key, fetched.etag)
    logger.info(
        "upload checked",
        extra={"kind": kind.kind, "key": key, "upload_status": verdict.status, "reason": verdict.reason},
    )
    return True


def _check_consumed(
    bucket: str, key: str, kind: Row, owner: str, record: Any, grant: Grant, fetched: FetchedObject | None
) -> bool:
    """An object (or its notice) under a key a verdict already consumed."""
    if fetched is not None and _is_consumed_upload(grant, fetched):
        # The check that consumed it was cut short after recording its verdict: finish its work.
        found = kind.rule.type_of(fetched.content or b"")
        if grant.status == ACCEPTED and grant.stored_key and found and fetched.content is not None:
            _keep(bucket, grant.stored_key, fetched.content, found.content_type)
        files.delete_if(bucket, key, fetched.etag)
        return True
    if fetched is not None:
        _discard(bucket, key, kind, owner, "reposted", etag=fetched.etag)
    if grant.status == ACCEPTED and grant.stored_key and files.head(bucket, grant.stored_key) is None:
        return _accepted_file_missing(kind, record, grant)
    return True


def _is_consumed_upload(grant: Grant, fetched: FetchedObject) -> bool:
    if grant.status == ACCEPTED:
        return fetched.content is not None and hashlib.sha256(fetched.content).hexdigest() == grant.sha256
    return fetched.etag == grant.etag


def _accepted_file_missing(kind: Row, record: Any, grant: Grant) -> bool:
    if _seconds_since(grant.checked_at) < KEEP_WITHIN_SECONDS:
        raise FileNotKeptYet("the check that accepted the upload may still be writing its stored copy")
    # The check that accepted it died before keeping it, and the upload is gone or overwritten since:
    # the bytes that were checked exist nowhere, so the owner must upload again.
    lost = Verdict(REJECTED, grant.key, grant.etag or "", clock.now_iso(), reason=LOST_REASON)
    if not kind.holder.settle(record, lost):
        return False
    logger.error("accepted upload lost before it was kept", extra={"kind": kind.kind, "key": grant.key})
    return True


def _check_stored(bucket: str, key: str) -> None:
    upload_key = key.removeprefix(STORED_PREFIX)
    kind = _row_for(upload_key)
    owner = kind.owner_of(upload_key) if kind else None
    if kind is None or owner is None:
        _discard(bucket, key, kind, None, "unknown_prefix" if kind is None else "no_owner")
        return
    record = kind.holder.load(owner)
    expected = kind.holder.keeps(record, key) if record is not None else None
    fetched = files.fetch(bucket, key, kind.rule.max_bytes)
    if fetched is None:
        return
    if expected and fetched.content is not None and hashlib.sha256(fetched.content).hexdigest() == expected:
        return  # the file the owner holds, as it was accepted
    if expected:
        logger.error("stored file does not match its recorded hash", extra={"kind": kind.kind, "key": key})
    _discard(bucket, key, kind, owner if record is not None else None, "not_kept", etag=fetched.etag)


def _verdict(kind: Row, key: str, fetched: FetchedObject) -> Verdict:
    checked_at = clock.now_iso()
    found, reason = kind.rule.judge(fetched)
    if found is None or fetched.content is None:
        return Verdict(REJECTED, key, fetched.etag, checked_at, reason=reason)
    return Verdict(
        ACCEPTED,
        key,
        fetched.etag,
        checked_at,
        size=fetched.size,
        sha256=hashlib.sha256(fetched.content).hexdigest(),
        stored_key=stored_key_for(key, found),
        content_type=found.content_type,
    )


def _keep(bucket: str, stored_key: str, content: bytes, content_type: str) -> None:
    # Written once: if a check running at the same time wrote it first, it wrote the same accepted
    # bytes (the verdict names one hash), and the key's own notice checks that hash.
    files.put_new(bucket, stored_key, content, content_type)


def _discard(
    bucket: str, key: str, kind: Row | None, owner: str | None, reason: str, etag: str | None = None
) -> None:
    """Remove an object no one may keep, with an audit entry and a log line. A redelivered notice
    finds it gone and does nothing."""
    if etag is None:
        found = files.head(bucket, key)
        if found is None:
            return
        etag = found.etag
    name = kind.kind if kind else "upload"
    trail = (kind.holder.audit_kind, owner) if kind and owner else UNOWNED
    # Recorded before the delete: a crash in between records it twice rather than never.
    audit.record(
        audit.entry(*trail, f"{name}.discarded.{reason}", actor=CHECKER, roles=None, at=clock.now_iso())
    )
    # Only the object looked at: one that replaced it meanwhile is checked on its own notice.
    files.delete_if(bucket, key, etag)
    logger.warning(
        "upload discarded",
        extra={
            "kind": name,
            "reason": reason,
            "owner": owner,
            # A key the server chose names only ids; any other was chosen by whoever wrote it.
            "key": key if _well_formed(key) else None,
            "key_sha256": hashlib.sha256(key.encode()).hexdigest(),
        },
    )


def _well_formed(key: str) -> bool:
    upload_key = key.removeprefix(STORED_PREFIX)
    kind = _row_for(upload_key)
    return kind is not None and kind.owner_of(upload_key) is not None


def _seconds_since(at: str | None) -> float:
    try:
        then = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return float("inf")
    return (clock.now() - then).total_seconds()
