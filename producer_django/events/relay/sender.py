"""Producing a batch of outbox rows with an idempotent producer: fire all, then wait for reports.

A row counts as delivered only when its delivery report says so. A fatal producer error (e.g. a
fenced or out-of-sequence idempotent producer) makes the next batch use a fresh producer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Producer
from confluent_kafka.schema_registry.error import SchemaRegistryError

from producer_django.events.relay.rows import ClaimedRow
from schemas.config import ConnectionSettings
from schemas.errors import PipelineError
from schemas.kafka_io import produce_blocking
from schemas.serde import EventSerializer, event_headers

logger = logging.getLogger(__name__)

# How long past message.timeout.ms we wait for the last delivery report before giving up on
# the producer (librdkafka reports every message within its timeout; this is a safety net).
REPORT_GRACE_S = 10.0


@dataclass
class SendResult:
    results: dict[int, str | None] = field(default_factory=dict)

    @property
    def delivered(self) -> int:
        return sum(1 for err in self.results.values() if err is None)

    @property
    def failed(self) -> int:
        return len(self.results) - self.delivered


def producer_conf(settings: ConnectionSettings, message_timeout_ms: int) -> dict:
    return settings.kafka_conf(
        **{
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": message_timeout_ms,
            "linger.ms": 5,
            "compression.type": "lz4",
            # Same partition for a key as Java clients and faust (murmur2).
            "partitioner": "murmur2_random",
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
        self._last_logged = ""

    def send(self, rows: Iterable[ClaimedRow], progress: Callable[[], None]) -> SendResult:
        """Produce every row, then wait until each has a delivery report (or failed to encode)."""
        producer = self._ensure_producer()
        outcome = SendResult()
        results = outcome.results
        rows = list(rows)
        for row in rows:
            try:
                value = self.serializer.serialize(row.event_type, row.payload)
            except (PipelineError, SchemaRegistryError, ValueError, OSError) as exc:
                results[row.id] = f"cannot encode: {exc}"
                continue
            headers = event_headers(row.event_type, {**row.payload, "traceparent": row.traceparent})
            self._produce(producer, row, value, headers, results)
        if not self._wait_for_reports(producer, results, len(rows), progress):
            for row in rows:
                results.setdefault(row.id, "no delivery report within the message timeout")
        if self._fatal is not None:
            logger.error("producer hit a fatal error (%s); creating a new one", self._fatal)
            self._discard_producer()
        return outcome

    def close(self, timeout_s: float = 10.0) -> None:
        if self._producer is not None:
            self._producer.flush(timeout_s)
            self._producer = None

    def _produce(self, producer, row, value, headers, results) -> None:
        def report(err, msg, row_id=row.id):
            results[row_id] = None if err is None else f"delivery failed: {err.str()}"

        try:
            queued = produce_blocking(
                producer, row.topic, value, key=row.key.encode(), headers=headers,
                on_delivery=report, stop=self._stop,
                timeout_s=self.message_timeout_ms / 1000 + REPORT_GRACE_S,
            )
        except PipelineError as exc:
            results[row.id] = str(exc)
            return
        if not queued:
            results[row.id] = "not sent: the relay is stopping"

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
            conf = producer_conf(self.settings, self.message_timeout_ms)
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
        text = err.str()
        if text != self._last_logged:
            logger.warning("kafka at %s: %s", self.settings.bootstrap_servers, text)
            self._last_logged = text
