"""Messages to the service's own queues (the payments queue today)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.settings import get_settings
from chalicelib.store.aws import client

PAYMENTS = "payments"


def _url(short: str) -> str:
    # The template passes the URL (a queue's Ref), and so do the local stack and the tests: no lookup
    # call, and no permission for one.
    url = get_settings().payments_queue_url if short == PAYMENTS else ""
    if not url:
        raise RuntimeError(f"no URL is set for the {short} queue (CXC_PAYMENTS_QUEUE_URL)")
    return url


def send(short: str, message: dict[str, Any]) -> None:
    client("sqs").send_message(QueueUrl=_url(short), MessageBody=json.dumps(message, sort_keys=True))
