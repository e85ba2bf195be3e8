"""Messages to the service's own queues (the payments queue today)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalicelib.settings import get_settings
from chalicelib.store.aws import client

PAYMENTS = "payments"


@cache
def _url(short: str, sqs: Any) -> str:
    # Keyed by the client too: a new client (a new emulator in tests) looks the URL up again.
    settings = get_settings()
    if short == PAYMENTS and settings.payments_queue_url:
        return settings.payments_queue_url
    # Only where the template did not pass the URL (the local stack): one lookup per container.
    return str(sqs.get_queue_url(QueueName=settings.table_name(short))["QueueUrl"])


def send(short: str, message: dict[str, Any]) -> None:
    sqs = client("sqs")
    sqs.send_message(QueueUrl=_url(short, sqs), MessageBody=json.dumps(message, sort_keys=True))
