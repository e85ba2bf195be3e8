"""Exports: the exchanges an admin (all of them) or a partnership (those it is the VOP or the HOP of)
may take away as CSV, one row per exchange with its payment's amount and paid date. Small exports are
answered inline; larger ones are written to the artifacts bucket and handed out by a short-lived link."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import clock
from chalicelib.auth import Principal
from chalicelib.errors import Forbidden
from chalicelib.observability import logger
from chalicelib.rules import export as rules
from chalicelib.rules.exchange_flow import ExchangeStatus
from chalicelib.settings import get_settings
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import files
from chalicelib.store import payments as payment_store

LINK_SECONDS = 15 * 60
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
# An exchange has a payment once its report is approved (paid, or closed with nothing to pay).
_WITH_PAYMENT = frozenset({ExchangeStatus.REPORT_APPROVED, ExchangeStatus.PAID, ExchangeStatus.CLOSED})


@dataclass(frozen=True)
class Inline:
    content: str
    filename: str
    rows: int


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: str
    rows: int


def _index_keys(principal: Principal) -> tuple[list[tuple[str, str]], str]:
    """Where the caller's exchanges are (index key, value), and what the file is named after."""
    if principal.has_role("admin"):
        return [("kind", "exchange")], "all"
    partnership = principal.partnership_id
    if principal.has_role("partnership") and partnership:
        return [("vop", partnership), ("hop", partnership)], partnership
    raise Forbidden("Exports are for admins and partnership officers (their own exchanges).")


def _with_payments(exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each exchange with its payment, if it has one (read for those past the report's approval only)."""
    paid = [e["id"] for e in exchanges if e["status"] in _WITH_PAYMENT]
    payments = payment_store.get_many([payment_store.id_for(i) for i in paid])
    return [{**e, "payment": payments.get(payment_store.id_for(e["id"]))} for e in exchanges]


def _filename(whose: str) -> str:
    safe = re.sub(r"[^a-z0-9-]+", "-", whose.lower()).strip("-") or "partnership"
    return f"exchanges-{safe}-{clock.today().isoformat()}.csv"


def exchanges_csv(principal: Principal, columns: tuple[str, ...]) -> Inline | Link:
    """The caller's exchanges as CSV in these columns, by reference: inline when small enough (the
    settings' rows and bytes), else a link to the file written for it."""
    keys, whose = _index_keys(principal)
    found = sorted(exchange_store.all_under(keys), key=lambda e: e["reference"])
    content = rules.to_csv(rules.rows(_with_payments(found), columns))
    filename = _filename(whose)
    settings = get_settings()
    encoded = content.encode()
    logger.info("exchanges exported", extra={"user_id": principal.user_id, "rows": len(found)})
    if len(found) <= settings.export_inline_rows and len(encoded) <= settings.export_inline_bytes:
        return Inline(content, filename, len(found))
    # A key nobody can guess, under the prefix the bucket expires after a few days.
    key = f"{settings.exports_prefix}{clock.today().isoformat()}/{uuid.uuid4().hex}/{filename}"
    files.put_download(files.artifacts_bucket(), key, encoded, CSV_CONTENT_TYPE, filename)
    url = files.presigned_get(key, LINK_SECONDS, files.artifacts_bucket())
    # The link's expiry is S3's, which reads the real time, not the business date.
    expires = datetime.now(UTC) + timedelta(seconds=LINK_SECONDS)
    return Link(url, expires.isoformat(timespec="seconds").replace("+00:00", "Z"), len(found))
