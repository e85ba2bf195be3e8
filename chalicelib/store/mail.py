"""Outgoing e-mail through the mailer port (SES), with a guard so a redelivered event does not send the
same notice twice."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib import clock, ports
from chalicelib.store import batch, preferences
from chalicelib.store.models import MetaModel, PreferenceModel

_MARK_ATTEMPTS = 4


def _sent_key(notice_key: str) -> str:
    return f"mail-sent#{notice_key}"


def send_once(notice_key: str, to: str, subject: str, body: str, html: str | None = None) -> bool:
    """Send unless a notice with this key went out already; True when this call sent it.

    The mark is written after sending: a crash in between re-sends on redelivery (at least once),
    which is better than a notice that never goes out.
    """
    try:
        MetaModel.get(_sent_key(notice_key), consistent_read=True)
        return False
    except DoesNotExist:
        pass
    ports.current().mailer.send(to, subject, body, html)
    _mark_sent(notice_key)
    return True


def sent_and_chosen(
    notice_keys: list[str], addresses: list[str]
) -> tuple[set[str], dict[str, preferences.Preferences]]:
    """Which of these notices went out already, and what these addresses chose to receive: one strongly
    consistent BatchGetItem for both, so a delivery (or its retry after a partial failure) reads once,
    not once a recipient."""
    found = batch.get_items({MetaModel: [_sent_key(k) for k in notice_keys], PreferenceModel: addresses})
    sent = {key for key in notice_keys if _sent_key(key) in found[MetaModel]}
    return sent, {address: preferences.from_model(m) for address, m in found[PreferenceModel].items()}


def send_unsent(messages: list[tuple[str, str, str, str, str | None]], sent: set[str]) -> int:
    """Send each (notice key, to, subject, text, html) not among `sent`, marking it; how many were sent."""
    count = 0
    for key, to, subject, text, html in messages:
        if key in sent:
            continue
        ports.current().mailer.send(to, subject, text, html)
        _mark_sent(key)
        count += 1
    return count


def _mark_sent(notice_key: str) -> None:
    """Record a sent notice. SES cannot be asked again whether it sent, so a mark that fails to be
    written would send the mail again on the next delivery: it is tried a few more times here first."""
    mark = MetaModel(pk=_sent_key(notice_key), updated_at=clock.now_iso())
    for attempt in range(_MARK_ATTEMPTS):
        try:
            mark.save(condition=MetaModel.pk.does_not_exist())
            return
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return  # marked already (a concurrent delivery, or an earlier try whose answer was lost)
            if attempt == _MARK_ATTEMPTS - 1:
                raise
