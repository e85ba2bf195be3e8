"""What the people who run the service rely on, through the app: readiness, cursors signed with the
stack's secret (read from Secrets Manager as in AWS), delivered outbox items that expire, and log lines
that carry the invocation and the object a record is about."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
from datetime import timedelta

import boto3
import pytest

import app as app_module
from chalicelib import clock, cursors
from chalicelib.services import readiness
from chalicelib.settings import get_settings
from chalicelib.store import outbox
from chalicelib.store.models import OutboxModel
from tests.api.conftest import auth
from tests.api.helpers import body


def _iso(moment) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pending(exchange_id: str, due: str) -> None:
    """An exchange's effect staged and due at `due`, as the outbox stores one."""
    OutboxModel(
        id=f"exchange:{exchange_id}:1:tell_parties",
        effect="tell_parties",
        subject=f"exchange:{exchange_id}",
        subject_version=1,
        queue=outbox.PENDING,
        next_at=due,
        created_at=due,
        updated_at=due,
    ).save()


def _ready(client, caller_token):
    return client.http.get("/v1/ops/ready", headers=auth(caller_token))


def test_readiness_answers_200_when_every_table_and_bucket_answers(client, token):
    # Given the emulator with every resource
    # When support asks
    response = _ready(client, token("support@clusterxchange.example", "support"))
    # Then every check passed, each named
    assert response.status_code == 200
    answer = body(response)
    assert answer["ready"] is True
    names = {c["name"] for c in answer["checks"]}
    assert f"table:{get_settings().table_name('outbox')}" in names
    assert {f"bucket:{get_settings().documents_bucket}", "outbox:backlog"} <= names
    assert all(c["ok"] for c in answer["checks"])


def test_readiness_is_503_naming_a_missing_bucket_and_a_backed_up_outbox(client, token, aws):
    # Given the artifacts bucket is gone and an effect is pending well past its time
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.delete_bucket(Bucket=get_settings().artifacts_bucket)
    _pending("exc_x", _iso(clock.now() - readiness.BACKLOG_AFTER - timedelta(minutes=1)))
    # When an administrator asks
    response = _ready(client, token("root@clusterxchange.example", "admin"))
    # Then it is not ready, and says why
    assert response.status_code == 503
    error = body(response)["error"]
    assert error["code"] == "NOT_READY"
    failed = {d["field"]: d["message"] for d in error["details"]}
    assert set(failed) == {f"bucket:{get_settings().artifacts_bucket}", "outbox:backlog"}
    assert failed["outbox:backlog"].startswith("1 pending")


def test_readiness_is_for_operators_only(client, token):
    assert _ready(client, token()).status_code == 403
    assert client.http.get("/v1/ops/ready").status_code == 401


def test_cursors_are_signed_with_the_stacks_secret_from_secrets_manager(client, aws):
    # Given the secret the bootstrap made (as the template's CursorSecret)
    assert get_settings().cursor_secret_id == aws.cursor_secret_id
    value = boto3.client("secretsmanager", region_name="eu-west-1").get_secret_value(
        SecretId=aws.cursor_secret_id
    )["SecretString"]

    class Key(cursors.CursorKey):
        id: str

    # When a cursor is issued
    cursor = cursors.encode("scope", Key(id="x"))
    # Then its tag is the HMAC of that secret
    payload, tag = cursor.split(".")
    mac = hmac.new(value.encode(), f"scope\n{payload}".encode(), hashlib.sha256).digest()[:16]
    assert tag == base64.urlsafe_b64encode(mac).decode().rstrip("=")
    assert cursors.decode("scope", cursor, Key) == Key(id="x")


def test_a_delivered_outbox_item_expires_thirty_days_after_its_delivery(aws):
    # Given an item claimed for delivery
    now = clock.now()
    stamp = _iso(now)
    _pending("exc_y", stamp)
    claimed = outbox.claim("exchange:exc_y:1:tell_parties", stamp, stamp[:-1] + "9Z")
    assert claimed
    item, lease = claimed
    # When it is done
    outbox.done(item, lease, stamp)
    # Then DynamoDB's TTL attribute is set 30 days on, in epoch seconds
    raw = boto3.client("dynamodb", region_name="eu-west-1").get_item(
        TableName=get_settings().table_name("outbox"), Key={"id": {"S": item.id}}
    )["Item"]
    expected = now.replace(microsecond=(now.microsecond // 1000) * 1000) + outbox.DONE_KEPT_FOR
    assert int(raw["expires_at"]["N"]) == int(expected.timestamp())
    assert "queue" not in raw  # left the pending index


@pytest.fixture
def log_lines():
    # Powertools' handler holds the stdout of when the logger was made: its stream is swapped instead.
    from chalicelib.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(stream)
    level = logger.log_level
    logger.setLevel(logging.INFO)

    def read() -> list[dict]:
        lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
        stream.seek(0)
        stream.truncate()
        return lines

    yield read
    logger.setLevel(level)
    handler.setStream(previous)


def test_an_event_functions_lines_carry_its_context_and_the_records_object(aws, log_lines):
    # Given an object the check will discard (not under an upload's key) and the queue's message about it
    boto3.client("s3", region_name="eu-west-1").put_object(
        Bucket=get_settings().documents_bucket, Key="not-an-upload/x.pdf", Body=b"%PDF-"
    )
    message = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": get_settings().documents_bucket},
                    "object": {"key": "not-an-upload/x.pdf", "size": 10},
                },
            }
        ]
    }
    event = {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r",
                "body": json.dumps(message),
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q",
                "awsRegion": "eu-west-1",
            }
        ]
    }
    # When the function runs with no Lambda context (as the local stack's pump calls it)
    log_lines()
    app_module.on_document_uploaded(event, None)
    lines = log_lines()
    # Then what it logged names the function, the invocation and the object
    assert lines, "the function logged nothing"
    for line in lines:
        assert line["function_name"] == "on_document_uploaded"
        assert line["function_request_id"]
        assert "cold_start" in line
    assert any(line.get("correlation_id") == "not-an-upload/x.pdf" for line in lines)
