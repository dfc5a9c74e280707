"""Producing a batch of outbox rows with an idempotent producer: fire all, then wait for reports.

A row counts as delivered only when its delivery report says so. A fatal producer error (e.g. a
fenced or out-of-sequence idempotent producer) makes the next batch use a fresh producer.

A row Kafka can never take, because its record is over the topic's max.message.bytes, is not
retried: it is returned in `SendResult.dead` and the store moves it to the dead letters. Our
own check uses the topic catalog's limit; a broker that refuses a batch as too large (its limit
is lower than the catalog says) makes us send each refused row once more on its own, so only a
row that is too large by itself is set aside, never its batch neighbours.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.schema_registry.error import SchemaRegistryError

from producer_django.events.relay.rows import ClaimedRow
from schemas import outbox
from schemas.config import ConnectionSettings
from schemas.errors import PipelineError
from schemas.kafka_io import produce_blocking
from schemas.refusals import refusal
from schemas.serde import EventSerializer, event_headers

logger = logging.getLogger(__name__)

# How long past message.timeout.ms we wait for the last delivery report before giving up on
# the producer (librdkafka reports every message within its timeout; this is a safety net).
REPORT_GRACE_S = 10.0
# librdkafka's own default, kept unless a catalog topic allows larger records.
LIBRDKAFKA_MESSAGE_MAX_BYTES = 1_000_000
_HEADERS_HEADROOM = 4096
_TOO_LARGE = frozenset({KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE})


@dataclass
class SendResult:
    """`results`: row id -> None (acknowledged) or the error. `dead`: row id -> why the row
    can never be delivered (also in `results`); not counted as failed, since it is not retried."""

    results: dict[int, str | None] = field(default_factory=dict)
    dead: dict[int, str] = field(default_factory=dict)

    @property
    def delivered(self) -> int:
        return sum(1 for err in self.results.values() if err is None)

    @property
    def failed(self) -> int:
        return len(self.results) - self.delivered - len(self.dead)


def producer_conf(settings: ConnectionSettings, message_timeout_ms: int,
                  largest_record: int = LIBRDKAFKA_MESSAGE_MAX_BYTES) -> dict:
    return settings.kafka_conf(
        **{
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": message_timeout_ms,
            "linger.ms": 5,
            "compression.type": "lz4",
            # Same partition for a key as Java clients and faust (murmur2).
            "partitioner": "murmur2_random",
            # So librdkafka does not refuse locally what the catalog lets the topic take.
            "message.max.bytes": max(LIBRDKAFKA_MESSAGE_MAX_BYTES, largest_record),
        }
    )


class KafkaSender:
    def __init__(
        self,
        settings: ConnectionSettings,
        serializer: EventSerializer,
        message_timeout_ms: int,
        make_producer: Callable[[dict], Producer] = Producer,
        stop: threading.Event | None = None,
    ):
        self.settings = settings
        self.serializer = serializer
        self.message_timeout_ms = message_timeout_ms
        self._make_producer = make_producer
        # Set on SIGTERM: stop waiting for room in a full queue (broker down); rows not yet
        # produced stay pending.
        self._stop = stop
        self._producer: Producer | None = None
        self._fatal: KafkaError | None = None
        self._limits: dict[str, int] = {}  # topic -> max.message.bytes
        self._last_logged = ""

    def send(self, rows: Iterable[ClaimedRow], progress: Callable[[], None]) -> SendResult:
        """Produce every row, then wait until each has a delivery report (or failed to encode)."""
        producer = self._ensure_producer()
        outcome = SendResult()
        results = outcome.results
        rows = list(rows)
        wire = {}
        for row in rows:
            try:
                value = self.serializer.serialize(row.event_type, row.payload)
            except (PipelineError, SchemaRegistryError, ValueError, OSError) as exc:
                results[row.id] = f"cannot encode: {exc}"
                continue
            headers = event_headers(row.event_type, row.payload, row.traceparent)
            key = row.key.encode()
            limit = self._limits.get(row.topic) or self._limit_of(row.topic)
            # Headers are a few hundred bytes at most: only a value near the limit is measured.
            if len(value) + len(key) + _HEADERS_HEADROOM > limit:
                size = outbox.record_size(key, value, headers)
                if size > limit:
                    _set_aside(outcome, row.id, str(outbox.EventTooLarge(
                        row.event_type, row.topic, size, limit)))
                    continue
            wire[row.id] = (row, key, value, headers)
            self._produce(producer, row, key, value, headers, results)
        if not self._wait_for_reports(producer, results, len(rows), progress):
            for row in rows:
                results.setdefault(row.id, "no delivery report within the message timeout")
        refused = [wire[rid] for rid, err in results.items() if err is _REFUSED_AS_TOO_LARGE]
        # Not with a producer just discarded (fatal error, lost reports): they retry later.
        if refused and self._fatal is None and self._producer is producer:
            self._send_alone(producer, refused, outcome, progress)
        if self._fatal is not None:
            logger.error("producer hit a fatal error (%s); creating a new one", self._fatal)
            self._discard_producer()
        return outcome

    def close(self, timeout_s: float = 10.0) -> None:
        if self._producer is not None:
            self._producer.flush(timeout_s)
            self._producer = None

    def _produce(self, producer, row, key, value, headers, results) -> None:
        def report(err, msg, row_id=row.id):
            if err is None:
                results[row_id] = None
            elif _too_large(err):
                results[row_id] = _REFUSED_AS_TOO_LARGE
            else:
                refused = refusal(err, self.settings.kafka_conf(), topic=row.topic,
                                  operation="Write")
                results[row_id] = str(refused) if refused else f"delivery failed: {err.str()}"

        try:
            queued = produce_blocking(
                producer, row.topic, value, key=key, headers=headers,
                on_delivery=report, stop=self._stop,
                timeout_s=self.message_timeout_ms / 1000 + REPORT_GRACE_S,
            )
        except PipelineError as exc:
            results[row.id] = str(exc)
            return
        except KafkaException as exc:
            # librdkafka refuses some records before queueing them (too large, unknown topic).
            err = exc.args[0]
            results[row.id] = (_REFUSED_AS_TOO_LARGE if _too_large(err)
                               else f"not sent: {err.str()}")
            return
        if not queued:
            results[row.id] = "not sent: the relay is stopping"

    def _limit_of(self, topic: str) -> int:
        limit = self._limits[topic] = outbox.max_message_bytes(topic)
        return limit

    def _send_alone(self, producer, refused, outcome: SendResult, progress) -> None:
        """Send each row the broker refused as too large in a batch of its own: a batch of
        small rows is refused whole when it exceeds the topic's limit."""
        results = outcome.results
        for row, key, value, headers in refused:
            del results[row.id]
            expected = len(results) + 1
            self._produce(producer, row, key, value, headers, results)
            if not self._wait_for_reports(producer, results, expected, progress):
                results.setdefault(row.id, "no delivery report within the message timeout")
            if results.get(row.id) is _REFUSED_AS_TOO_LARGE:
                size = outbox.record_size(key, value, headers)
                _set_aside(outcome, row.id, (
                    f"{row.event_type}: the broker refused the record of {size} bytes as larger "
                    f"than the max.message.bytes of topic {row.topic!r} (the catalog allows "
                    f"{outbox.max_message_bytes(row.topic)}); make the topic catalog match the "
                    "cluster (`pipeline topics apply`) or keep large data out of the event"))

    def _wait_for_reports(self, producer, results, expected, progress) -> bool:
        deadline = time.monotonic() + self.message_timeout_ms / 1000 + REPORT_GRACE_S
        while len(results) < expected:
            if time.monotonic() > deadline:
                logger.error("no delivery report within the message timeout; resetting producer")
                self._discard_producer()
                return False
            # flush() sends at once (no linger) and serves delivery callbacks; short slices
            # keep the heartbeat going during a long wait.
            producer.flush(min(1.0, max(deadline - time.monotonic(), 0.01)))
            progress()
        return True

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            self._fatal = None
            conf = producer_conf(self.settings, self.message_timeout_ms,
                                 largest_record=outbox.largest_max_message_bytes())
            conf["error_cb"] = self._on_error
            conf["logger"] = logger
            self._producer = self._make_producer(conf)
        return self._producer

    def _discard_producer(self) -> None:
        if self._producer is not None:
            # Drop what it still holds; those rows stay pending and go out again.
            self._producer.purge()
            self._producer.flush(0)
            self._producer = None

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self._fatal = err
        refused = refusal(err, self.settings.kafka_conf())
        text = str(refused) if refused is not None else err.str()
        if text != self._last_logged:
            logger.warning("kafka at %s: %s", self.settings.bootstrap_servers, text)
            self._last_logged = text


# A delivery result meaning "the broker (or librdkafka) refused the record as too large".
_REFUSED_AS_TOO_LARGE = "refused as too large"


def _too_large(err) -> bool:
    code = getattr(err, "code", None)
    return code is not None and code() in _TOO_LARGE


def _set_aside(outcome: SendResult, row_id: int, reason: str) -> None:
    outcome.results[row_id] = reason
    outcome.dead[row_id] = reason
    logger.error("outbox row %s moved to the dead letters: %s", row_id, reason)
