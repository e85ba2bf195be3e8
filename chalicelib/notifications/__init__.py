"""Who is told what at each step, and the one way a message goes out: rendered from this folder's
templates (jinja2: autoescaped HTML and plain text, the subject from a template of its own), with the
object's reference and a direct link into the web app, sent once per event and address, and only as
the recipient's preferences allow. Every caller is an effect's handler (the outbox), reading the stored
object: nothing here is sent straight from a request or a stream image."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.observability import logger
from chalicelib.settings import get_settings

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"
# A translation is a folder beside this one (e.g. templates/de), with Babel's catalogues if wanted: the
# environment has jinja2's i18n extension, with null translations until there is one.
LANGUAGE = "en"

# Who a recipient is to what the message is about: a party of an exchange, or of a registration, a
# contact request, a payment, a support query. A partnership's officers are its contact address.
PARTNERSHIP_PARTIES = frozenset({"partnership", "VOP", "HOP"})


@dataclass(frozen=True)
class Notice:
    step: str  # what happened, in the programme's words
    to: tuple[str, ...]  # who is told (parties of the object)
    # Asks the recipient to act, or concerns money: sent whatever the recipient's preferences say.
    essential: bool
    # Something a partnership must act on: an officer who chose the daily digest finds it there instead.
    digest: bool = False


# The table: every message the service sends. A template triple (<name>.subject.txt, .txt, .html) per
# row, in every language folder (a test checks both ways).
NOTICES: dict[str, Notice] = {
    "registration_received": Notice("a registration is submitted", ("partnership",), True, digest=True),
    "registration_decided": Notice("the partnership decided on a registration", ("applicant",), False),
    "registration_reminder": Notice(
        "a registration has waited for a decision for 14 days", ("partnership",), True, digest=True
    ),
    "contact_request_received": Notice("a contact request is received", ("recipient",), True),
    "contact_request_answered": Notice("a contact request is accepted or declined", ("sender",), False),
    "draft_to_confirm": Notice(
        "the Commitment to Quality draft awaits a participant's confirmation", ("VO", "HO"), True
    ),
    "draft_submitted": Notice(
        "both participants confirmed the draft: it goes to review", ("VO", "HO"), False
    ),
    "review_needed": Notice("a Commitment to Quality awaits review", ("VOP", "HOP"), True, digest=True),
    "review_done": Notice("the partnerships approved the Commitment to Quality", ("VO", "HO"), False),
    "changes_requested": Notice("a partnership asked for changes to the draft", ("VO", "HO"), True),
    "signature_needed": Notice(
        "a document awaits a party's signature", ("VO", "HO", "VOP", "HOP"), True, digest=True
    ),
    "signature_reminder": Notice(
        "a signature has been outstanding for 7 days", ("VO", "HO", "VOP", "HOP"), True, digest=True
    ),
    "extension_requested": Notice("a participant asked for an extension", ("VOP",), True, digest=True),
    "upload_rejected": Notice(
        "an uploaded file was rejected", ("VO", "HO", "VOP", "HOP", "owner", "asker"), True
    ),
    "exchange_starts_tomorrow": Notice("the stay starts tomorrow", ("VO", "HO"), False),
    "report_due": Notice("the stay ended: the closing report is due", ("VO",), True),
    "report_reminder": Notice("the closing report is not filed 14 days after the stay", ("VO",), True),
    "report_to_review": Notice("a closing report awaits its decision", ("VOP",), True, digest=True),
    "report_decided": Notice("the partnership approved or returned the closing report", ("VO", "VOP"), True),
    "exchange_cancelled": Notice("an exchange was cancelled", ("VO", "HO", "VOP", "HOP"), False),
    "payment_instructed": Notice("the lump sum was instructed to the bank", ("VO", "VOP"), True),
    "payment_paid": Notice("the lump sum was paid", ("VO", "VOP"), True),
    "payment_overdue": Notice("a lump sum is unpaid past its due date", ("finance",), True),
    # An answer to what the asker asked: sent whatever their preferences (it is what they are waiting for).
    "support_answered": Notice("the support office answered a query", ("asker",), True),
    "digest": Notice("a business day begins: what waits for the partnership", ("partnership",), True),
}


@dataclass(frozen=True)
class Recipient:
    address: str
    party: str  # who they are to the object (see NOTICES' `to`)


@functools.cache
def _environment(language: str = LANGUAGE) -> Environment:
    # Imported on first use: only the functions that mail pay for jinja2.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    environment = Environment(
        loader=FileSystemLoader(TEMPLATES / language),
        # HTML is escaped (a participant's words are data, never markup); the text and the subject are
        # not HTML, so escaping them would show entities to the reader.
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        # A template naming what its context lacks fails the delivery (retried, then stuck and
        # listed), rather than mailing a blank.
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    return environment


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


def link(path: str) -> str:
    """A direct link into the web app (its base URL is the stage's setting)."""
    return get_settings().web_app_url.rstrip("/") + "/" + path.lstrip("/")


def render(name: str, context: Mapping[str, Any], path: str) -> Message:
    notice = NOTICES[name]
    environment = _environment()
    values = {
        **context,
        "link": link(path),
        "preferences_link": link("/settings/notifications"),
        "essential": notice.essential,
    }
    subject = environment.get_template(f"{name}.subject.txt").render(values)
    return Message(
        # One line, whatever the template's whitespace: a header cannot hold a line break.
        subject=" ".join(subject.split()),
        text=environment.get_template(f"{name}.txt").render(values),
        html=environment.get_template(f"{name}.html").render(values),
    )


def send(name: str, recipients: Iterable[Recipient], context: Mapping[str, Any], key: str, link: str) -> int:
    """Send notice `name` to each recipient its preferences let it reach, once per `key` (the event)
    and address, whatever number of times this is called; how many this call sent."""
    from chalicelib.store import mail, preferences

    notice = NOTICES[name]
    by_address: dict[str, list[str]] = {}
    for recipient in recipients:
        if recipient.address:
            by_address.setdefault(recipient.address.strip().lower(), []).append(recipient.party)
    if not by_address:
        return 0
    keys = {address: f"{name}#{key}#{address}" for address in by_address}
    already, chosen = mail.sent_and_chosen(list(keys.values()), list(by_address))
    messages: list[tuple[str, str, str, str, str | None]] = []
    for address, parties in by_address.items():
        choice = chosen.get(address)
        if keys[address] in already:
            continue
        if choice is not None and not notice.essential and not choice.optional:
            continue
        if (
            choice is not None
            and notice.digest
            and choice.digest == preferences.DAILY
            and all(p in PARTNERSHIP_PARTIES for p in parties)
        ):
            continue  # in tomorrow's digest, which lists what waits for the partnership
        # Rendered for each address: one mail names every role its reader holds (a partnership that is
        # both VOP and HOP gets one).
        message = render(name, {**context, "roles": parties}, link)
        messages.append((keys[address], address, message.subject, message.text, message.html))
    sent = mail.send_unsent(messages, already)
    if sent:
        logger.info("notice sent", extra={"notice": name, "count": sent})
    return sent


__all__ = [
    "NOTICES",
    "Message",
    "Notice",
    "Recipient",
    "exchange_path",
    "exchange_view",
    "link",
    "render",
    "send",
]


def exchange_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What every exchange message shows of the exchange (its reference first)."""
    visitor, host = doc.get("visitor") or {}, doc.get("host") or {}
    return {
        "id": doc["id"],
        "reference": doc["reference"],
        "visitor": visitor.get("organisation_name"),
        "visitor_country": visitor.get("country"),
        "host": host.get("organisation_name"),
        "host_country": host.get("country"),
        "start_date": doc.get("start_date"),
        "end_date": doc.get("end_date"),
        "status": doc.get("status"),
        "status_text": str(doc.get("status") or "").replace("_", " "),
    }


def exchange_path(exchange_id: str) -> str:
    return f"/exchanges/{exchange_id}"
