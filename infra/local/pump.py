"""The event pump: locally, what Lambda's event source mappings do in AWS.

It polls the emulator's DynamoDB streams and SQS queues and invokes the app's own event functions
with real event shapes. Partial-batch failures are honoured: a stream batch is retried from the
first failed record, and after `max_retries` failed attempts that record goes to the mapping's
failure queue; a failed SQS message is left on its queue, whose redrive policy moves it to the
dead-letter queue after its maximum receive count.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.local.event_shapes import failed_ids, sqs_event_record, stream_event_record
from infra.resources import EventSource

log = logging.getLogger("cxc.pump")

Function = Callable[[dict[str, Any], Any], Any]


@dataclass
class _Shard:
    # The checkpoint, as Lambda keeps it: the last sequence number handed on successfully or parked.
    last_sequence: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0


class StreamMapping:
    def __init__(
        self,
        source: EventSource,
        function: Function,
        stream_arn: str,
        streams: Any,
        sqs: Any,
        failure_url: str | None,
    ) -> None:
        self.source = source
        self.function = function
        self.stream_arn = stream_arn
        self.streams = streams
        self.sqs = sqs
        self.failure_url = failure_url
        self.region = streams.meta.region_name
        self.shards: dict[str, _Shard] = {}

    def _discover(self) -> None:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            self.shards.setdefault(shard["ShardId"], _Shard())

    def _fetch(self, shard_id: str, shard: _Shard) -> None:
        # A fresh iterator from the checkpoint every time rather than a long-lived NextShardIterator:
        # the emulator's iterators can go stale when it rolls back a cancelled transaction.
        args: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        if shard.last_sequence:
            args = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_sequence}
        iterator = self.streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id, **args)
        page = self.streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=self.source.batch_size)
        shard.pending = [stream_event_record(r, self.stream_arn, self.region) for r in page["Records"]]

    def poll(self) -> int:
        """One round over every shard; returns how many records were delivered successfully."""
        self._discover()
        delivered = 0
        for shard_id, shard in self.shards.items():
            if not shard.pending:
                self._fetch(shard_id, shard)
            if shard.pending:
                delivered += self._invoke(shard)
        return delivered

    def _invoke(self, shard: _Shard) -> int:
        batch = shard.pending[: self.source.batch_size]
        try:
            failed = failed_ids(self.function({"Records": batch}, None))
        except Exception:
            log.exception("%s raised; the whole batch is retried", self.source.function)
            failed = [batch[0]["dynamodb"]["SequenceNumber"]]
        if not failed:
            shard.pending = shard.pending[len(batch) :]
            shard.last_sequence = batch[-1]["dynamodb"]["SequenceNumber"]
            shard.attempts = 0
            return len(batch)
        # As Lambda does: checkpoint before the first failed record and retry from it.
        sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
        first = (
            min(sequence.index(f) for f in failed if f in sequence)
            if any(f in sequence for f in failed)
            else 0
        )
        if first:
            shard.last_sequence = sequence[first - 1]
        shard.pending = shard.pending[first:]
        shard.attempts += 1
        if shard.attempts > self.source.max_retries:
            record = shard.pending.pop(0)
            shard.last_sequence = record["dynamodb"]["SequenceNumber"]
            shard.attempts = 0
            log.warning("%s: record %s sent to the failure queue", self.source.function, sequence[first])
            if self.failure_url:
                self.sqs.send_message(
                    QueueUrl=self.failure_url,
                    MessageBody=json.dumps({"function": self.source.function, "record": record}, default=str),
                )
        return first


class QueueMapping:
    def __init__(
        self, source: EventSource, function: Function, queue_url: str, queue_arn: str, sqs: Any
    ) -> None:
        self.source = source
        self.function = function
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.sqs = sqs
        self.region = sqs.meta.region_name

    def poll(self) -> int:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, 10),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        records = [sqs_event_record(m, self.queue_arn, self.region) for m in messages]
        try:
            failed = set(failed_ids(self.function({"Records": records}, None)))
        except Exception:
            log.exception("%s raised; every message stays on the queue", self.source.function)
            failed = {r["messageId"] for r in records}
        done = 0
        for record in records:
            if record["messageId"] in failed:
                # Visible again soon, so local retries do not wait the full visibility timeout.
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=1
                )
            else:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
                done += 1
        return done


class Pump:
    """Runs every mapping in one background thread until stopped."""

    def __init__(self, mappings: list[StreamMapping | QueueMapping], interval: float = 0.5) -> None:
        self.mappings = mappings
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-pump", daemon=True)

    def drain(self, rounds: int = 20) -> int:
        """Poll until a round delivers nothing (tests and seeding use this to settle)."""
        total = 0
        for _ in range(rounds):
            delivered = sum(m.poll() for m in self.mappings)
            total += delivered
            if not delivered:
                break
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for mapping in self.mappings:
                    mapping.poll()
            except Exception:
                log.exception("event pump round failed")
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class Scheduler:
    """Calls the scheduled function every `seconds` (its clock is the app's own clock)."""

    def __init__(self, function: Callable[[], Any], seconds: float) -> None:
        self.function = function
        self.seconds = seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                self.function()
            except Exception:
                log.exception("scheduled function failed")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def build_mappings(
    sources: tuple[EventSource, ...],
    functions: dict[str, Function],
    stream_arns: dict[str, str],
    queue_urls: dict[str, str],
    queue_arns: dict[str, str],
    streams: Any,
    sqs: Any,
) -> list[StreamMapping | QueueMapping]:
    mappings: list[StreamMapping | QueueMapping] = []
    for source in sources:
        function = functions[source.function]
        if source.kind == "dynamodb":
            failure_url = queue_urls.get(source.on_failure) if source.on_failure else None
            mappings.append(
                StreamMapping(source, function, stream_arns[source.source], streams, sqs, failure_url)
            )
        else:
            mappings.append(
                QueueMapping(source, function, queue_urls[source.source], queue_arns[source.source], sqs)
            )
    return mappings


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
