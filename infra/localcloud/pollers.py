"""Event source mappings, run the way Lambda runs them.

moto would call a function inside SendMessage or PutItem, one record at a time, and then
forget the stream records; the local cloud detaches moto's own delivery and polls instead,
honouring batch size, batching window, filter criteria, ReportBatchItemFailures, retries,
bisection and on-failure destinations.

An idle poller sleeps until moto takes a message into its queue or a record into its stream
(``Wakeups``), with a poll every ``idle_poll_seconds`` for what becomes visible without a write
(a delay or a visibility timeout ending). Polling every 50 ms instead cost about 80 HTTP calls a
second in an idle cloud, and the process's one GIL with them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localcloud.patches import PATCHES
from localcloud.runtime import FunctionRuntime, Invocation

log = logging.getLogger("localcloud.pollers")


@dataclass
class PollerSettings:
    # Lambda leaves a failed SQS batch invisible for the queue's visibility timeout; locally a
    # shorter delay can be set so retries (and DLQ redrive) happen in seconds, not minutes.
    sqs_retry_delay_seconds: int | None = None
    idle_poll_seconds: float = 1.0
    # After a wake-up, let the rest of a burst of writes arrive: one poll takes them all.
    wake_delay_seconds: float = 0.05
    stream_retry_delay_seconds: float = 0.2


def _failed_ids(result: Invocation, reports_failures: bool, all_ids: list[str]) -> list[str]:
    """Which records to retry, as Lambda decides from the function's answer."""
    if result.failed:
        return all_ids
    if not reports_failures or result.payload is None:
        return []
    if not isinstance(result.payload, dict):
        return all_ids  # not a batch response: Lambda counts the whole batch as failed
    failures = result.payload.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        return all_ids
    ids = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in all_ids:
            return all_ids  # a malformed answer fails the whole batch
        ids.append(identifier)
    return ids


def _matches_filters(record: dict[str, Any], patterns: list[Any]) -> bool:
    if not patterns:
        return True

    return any(pattern.matches_event(record) for pattern in patterns)


def _compile_filters(mapping: dict[str, Any]) -> list[Any]:
    from moto.events.models import EventPattern

    filters = (mapping.get("FilterCriteria") or {}).get("Filters", [])
    return [EventPattern.load(f["Pattern"]) for f in filters]


class Wakeups:
    """One event per event source, set when moto takes in something for that source."""

    def __init__(self) -> None:
        self._events: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def event(self, source: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(source, threading.Event())

    def notify(self, source: str) -> None:
        self.event(source).set()

    def notify_all(self) -> None:
        with self._lock:
            events = list(self._events.values())
        for event in events:
            event.set()


WAKEUPS = Wakeups()  # moto's backends are process-wide, and so are their writes


def patch_wakeups() -> None:
    """Wake a source's poller from inside moto: SQS's ``add_message`` (SendMessage, batches, DLQ
    moves) and a table stream's ``add`` (every item write)."""
    from moto.dynamodb.models.table import StreamShard
    from moto.sqs.models import Queue

    if not PATCHES.first("sqs and streams: wake-ups"):
        return
    add_message, add_record = Queue.add_message, StreamShard.add

    def queue_add(self: Any, message: Any) -> None:
        add_message(self, message)
        WAKEUPS.notify(self.queue_arn)

    def stream_add(self: Any, old: Any, new: Any) -> None:
        add_record(self, old, new)
        WAKEUPS.notify(self.table.table_arn)

    PATCHES.replace(Queue, "add_message", queue_add)
    PATCHES.replace(StreamShard, "add", stream_add)


def wakeup_key(source_arn: str) -> str:
    """The key moto's hooks notify for an event source: the queue's ARN, or the stream's table ARN."""
    return source_arn.split("/stream/")[0]


class InProcessStreams:
    """The three DynamoDB Streams reads the stream poller makes, answered from moto's shard directly.

    The pollers run in moto's process; through the API every record was serialized by moto's
    generic serializer and parsed again by botocore, a fifth of the process's time under usage
    load (py-spy). Here the records are copied as the JSON Lambda would receive.
    """

    def __init__(self, region: str) -> None:
        self.region = region

    def _shard(self, stream_arn: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        from localcloud.provision import ACCOUNT_ID

        table_name = stream_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
        return dynamodb_backends[ACCOUNT_ID][self.region].get_table(table_name).stream_shard

    def describe_stream(self, StreamArn: str) -> dict[str, Any]:  # boto3's parameter names, as the poller calls them
        return {"StreamDescription": {"StreamArn": StreamArn, "Shards": [{"ShardId": self._shard(StreamArn).id}]}}

    def get_shard_iterator(self, StreamArn: str, ShardId: str, ShardIteratorType: str,
                           SequenceNumber: str | None = None) -> dict[str, Any]:
        shard = self._shard(StreamArn)
        start = {"TRIM_HORIZON": shard.starting_sequence_number,
                 "LATEST": shard.starting_sequence_number + len(shard.items),
                 "AT_SEQUENCE_NUMBER": int(SequenceNumber or 0),
                 "AFTER_SEQUENCE_NUMBER": int(SequenceNumber or 0) + 1}[ShardIteratorType]
        return {"ShardIterator": f"{StreamArn}|{start}"}

    def get_records(self, ShardIterator: str, Limit: int = 1000) -> dict[str, Any]:
        stream_arn, _, start = ShardIterator.rpartition("|")
        shard = self._shard(stream_arn)
        found = shard.get(int(start), Limit) if int(start) >= shard.starting_sequence_number else []
        return {"Records": json.loads(json.dumps(found, default=_epoch_seconds))}


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    raise TypeError(f"not JSON: {type(value).__name__}")


class _Poller(threading.Thread):
    def __init__(self, mapping: dict[str, Any], runtime: FunctionRuntime, clients: Callable[[str], Any],
                 settings: PollerSettings, stop: threading.Event) -> None:
        super().__init__(name=f"esm-{mapping['UUID'][:8]}", daemon=True)
        self.mapping = mapping
        self.runtime = runtime
        self.client = clients
        self.settings = settings
        self.stop_event = stop
        self.function = mapping["FunctionArn"]
        self.reports_failures = "ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or [])
        self.filters = _compile_filters(mapping)
        self.batches = 0
        self.wakeup = WAKEUPS.event(wakeup_key(mapping["EventSourceArn"]))

    def run(self) -> None:
        while not self.stop_event.is_set():
            # Cleared before the poll: a write during the poll leaves it set, and the wait below
            # returns at once.
            self.wakeup.clear()
            try:
                worked = self.poll_once()
            except Exception:
                if self.stop_event.is_set():
                    return
                log.exception("poller %s failed; retrying", self.name)
                worked = False
            if not worked and self.wakeup.wait(self.settings.idle_poll_seconds):
                self.stop_event.wait(self.settings.wake_delay_seconds)

    def poll_once(self) -> bool:
        raise NotImplementedError


class SqsPoller(_Poller):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        sqs = self.client("sqs")
        name = self.mapping["EventSourceArn"].rsplit(":", 1)[1]
        self.queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        self.batch_size = int(self.mapping.get("BatchSize") or 10)
        self.window = float(self.mapping.get("MaximumBatchingWindowInSeconds") or 0)

    def poll_once(self) -> bool:
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.window
        while len(messages) < self.batch_size:
            answer = sqs.receive_message(QueueUrl=self.queue_url,
                                         MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                                         AttributeNames=["All"], MessageAttributeNames=["All"])
            got = answer.get("Messages", [])
            messages.extend(got)
            if not got or time.monotonic() >= deadline:
                break
        if not messages:
            return False
        records = [self._record(m) for m in messages]
        kept = [r for r in records if _matches_filters(r, self.filters)]
        handles = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
        failed: list[str] = []
        if kept:
            result = self.runtime.invoke(self.function, {"Records": kept})
            self.batches += 1
            failed = _failed_ids(result, self.reports_failures, [r["messageId"] for r in kept])
            if result.failed:
                log.warning("%s failed on a batch of %d: %s", self.function, len(kept), result.error)
        # Messages a filter drops are deleted, as Lambda does.
        done = [mid for mid in handles if mid not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": handles[mid]} for i, mid in enumerate(chunk)])
        if failed and self.settings.sqs_retry_delay_seconds is not None:
            for mid in failed:
                sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=handles[mid],
                                              VisibilityTimeout=self.settings.sqs_retry_delay_seconds)
        return True

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = {}
        for name, value in message.get("MessageAttributes", {}).items():
            attributes[name] = {
                "stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []), "dataType": value["DataType"],
            }
        region = self.mapping["EventSourceArn"].split(":")[3]
        return {
            "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
            "attributes": message.get("Attributes", {}), "messageAttributes": attributes,
            "md5OfBody": message.get("MD5OfBody"), "eventSource": "aws:sqs",
            "eventSourceARN": self.mapping["EventSourceArn"], "awsRegion": region,
        }


class StreamPoller(_Poller):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream_arn = self.mapping["EventSourceArn"]
        self.batch_size = int(self.mapping.get("BatchSize") or 100)
        self.max_retries = int(self.mapping.get("MaximumRetryAttempts", -1) if
                               self.mapping.get("MaximumRetryAttempts") is not None else -1)
        self.bisect = bool(self.mapping.get("BisectBatchOnFunctionError"))
        self.on_failure = ((self.mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        streams = self.client("dynamodbstreams")
        shard = streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]
        self.shard_id = shard["ShardId"]
        self.position: tuple[str, str | None] = ("TRIM_HORIZON", None)
        self.pending: list[dict[str, Any]] = []
        if self.mapping.get("StartingPosition") == "LATEST":
            while records := self._fetch():  # skip what is already in the stream
                self.position = ("AFTER_SEQUENCE_NUMBER", records[-1]["dynamodb"]["SequenceNumber"])
        self.attempts = 0
        self.limit: int | None = None  # set while bisecting

    def _fetch(self) -> list[dict[str, Any]]:
        streams = self.client("dynamodbstreams")
        kind, sequence = self.position
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": self.shard_id, "ShardIteratorType": kind}
        if sequence:
            kwargs["SequenceNumber"] = sequence
        iterator = streams.get_shard_iterator(**kwargs)["ShardIterator"]
        records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator, Limit=self.batch_size)["Records"]
        return records

    def poll_once(self) -> bool:
        if not self.pending:
            self.pending = self._fetch()
            self.attempts = 0
            self.limit = None
        if not self.pending:
            return False
        batch = self.pending[: self.limit or len(self.pending)]
        kept = [record for record in map(self._record, batch) if _matches_filters(record, self.filters)]
        failed: list[str] = []
        result = None
        if kept:
            result = self.runtime.invoke(self.function, {"Records": kept})
            self.batches += 1
            failed = _failed_ids(result, self.reports_failures, [r["dynamodb"]["SequenceNumber"] for r in kept])
        if not failed:
            self._advance_past(batch[-1])
            return True
        # Lambda resumes from the lowest failed sequence number.
        first_failed = min(failed, key=int)
        index = next(i for i, r in enumerate(self.pending) if r["dynamodb"]["SequenceNumber"] == first_failed)
        if index:
            # Checkpoint just before the first failure (this also drops the records before it).
            self._advance_past(self.pending[index - 1])
            return True
        self.attempts += 1
        if result is not None and result.failed and self.bisect and len(batch) > 1:
            self.limit = max(1, len(batch) // 2)
        if 0 <= self.max_retries < self.attempts:
            self._send_to_on_failure(batch if self.limit is None else batch[: self.limit], result)
            self._advance_past((batch if self.limit is None else batch[: self.limit])[-1])
            return True
        self.stop_event.wait(self.settings.stream_retry_delay_seconds)
        return True

    def _advance_past(self, record: dict[str, Any]) -> None:
        sequence = record["dynamodb"]["SequenceNumber"]
        self.position = ("AFTER_SEQUENCE_NUMBER", sequence)
        self.pending = [r for r in self.pending if int(r["dynamodb"]["SequenceNumber"]) > int(sequence)]
        self.attempts = 0
        self.limit = None

    def _send_to_on_failure(self, batch: list[dict[str, Any]], result: Invocation | None) -> None:
        log.error("giving up on %d stream records for %s after %d attempts", len(batch), self.function, self.attempts)
        if not self.on_failure:
            return
        message = {
            "requestContext": {"functionArn": self.function, "condition": "RetryAttemptsExhausted",
                               "approximateInvokeCount": self.attempts},
            "responseContext": {"functionError": (result.error or {}).get("errorType") if result else None},
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "DDBStreamBatchInfo": {
                "shardId": self.shard_id, "streamArn": self.stream_arn, "batchSize": len(batch),
                "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
            },
        }
        name = self.on_failure.rsplit(":", 1)[1]
        sqs = self.client("sqs")
        sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"], MessageBody=json.dumps(message))

    def _record(self, record: dict[str, Any]) -> dict[str, Any]:
        out = dict(record)
        out["eventSourceARN"] = self.stream_arn
        dynamodb = dict(out.get("dynamodb", {}))
        if "ApproximateCreationDateTime" in dynamodb and not isinstance(dynamodb["ApproximateCreationDateTime"],
                                                                          int | float):
            dynamodb["ApproximateCreationDateTime"] = dynamodb["ApproximateCreationDateTime"].timestamp()
        out["dynamodb"] = dynamodb
        return out


class Pollers:
    """One thread per enabled SQS or DynamoDB-stream event source mapping."""

    def __init__(self, runtime: FunctionRuntime, clients: Callable[[str], Any], settings: PollerSettings) -> None:
        self.runtime = runtime
        self.client = clients
        self.settings = settings
        self.stop_event = threading.Event()
        self.threads: list[_Poller] = []

    def start(self, mappings: list[dict[str, Any]]) -> None:
        for mapping in mappings:
            if mapping.get("State", "Enabled") not in ("Enabled", "Creating", "Enabling"):
                continue
            source = mapping["EventSourceArn"]
            cls: type[_Poller] | None = SqsPoller if source.startswith("arn:aws:sqs:") else \
                StreamPoller if ":dynamodb:" in source and "/stream/" in source else None
            if cls is None:
                raise ValueError(f"no local poller for event source {source}")
            thread = cls(mapping, self.runtime, self.client, self.settings, self.stop_event)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        WAKEUPS.notify_all()
        for thread in self.threads:
            thread.join(timeout=5)
