"""Helpers for tests and benchmarks of workers: running a handler without a broker, event
metadata, publishing, Maildir counting, a worker in a thread.

Like `django.test`, shipped with the package so every test directory, the benchmarks and a
project's own tests can use it; nothing here runs on import.

    run = run_handler(InvoiceMailer(), [{"event_type": "InvoiceIssued", "invoice_id": "i-1",
                                         ...}])
    assert run.failures == [] and run.published[0]["event_type"] == "InvoiceSent"
"""

from __future__ import annotations

import email
import mailbox
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer

from consumers.handler_run import Failure, HandlerRun, create_sqlite_outbox, run_handler
from schemas.ids import new_event_id
from schemas.kafka_io import produce_blocking
from schemas.serde import EventSerializer, event_headers

__all__ = [
    "Failure", "HandlerRun", "WorkerThread", "create_sqlite_outbox", "message_ids", "metadata",
    "produce_raw", "publish", "run_handler", "wait_until",
]


def metadata(aggregate_id: str, version: int = 1, **extra) -> dict:
    return {
        "event_id": new_event_id(),
        "occurred_at": datetime.now(UTC),
        "aggregate_id": aggregate_id,
        "aggregate_version": version,
        "correlation_id": str(uuid.uuid4()),
        "causation_id": None,
        "producer": "tests",
        **extra,
    }


def publish(settings, serializer: EventSerializer, topic: str, event_type: str,
            events: Iterable[dict], key_field: str = "aggregate_id",
            on_each: Callable[[int], None] | None = None) -> int:
    """Produce events to `topic` (not necessarily their catalog topic); returns the count."""
    producer = Producer(settings.kafka_conf(**{"linger.ms": 5, "enable.idempotence": True}))
    errors = []
    count = 0
    for i, event in enumerate(events):
        value = serializer.serialize(event_type, event)
        produce_blocking(
            producer, topic, value, key=str(event[key_field]).encode(),
            headers=event_headers(event_type, event),
            on_delivery=lambda err, msg: errors.append(err) if err else None,
        )
        producer.poll(0)
        count += 1
        if on_each is not None:
            on_each(i)
    remaining = producer.flush(30)
    if remaining or errors:
        raise RuntimeError(f"publish failed: {remaining} unacknowledged, errors {errors[:3]}")
    return count


def produce_raw(settings, topic: str, records: Iterable[tuple[bytes | None, bytes | None]],
                headers=None) -> None:
    producer = Producer(settings.kafka_conf())
    for key, value in records:
        producer.produce(topic, key=key, value=value, headers=headers or [])
    if producer.flush(30):
        raise RuntimeError("raw records not acknowledged")


def message_ids(maildir: Path) -> Counter:
    """Message-ID -> number of mails with it in the Maildir."""
    counts: Counter = Counter()
    box = mailbox.Maildir(maildir, create=False)
    for key in box.iterkeys():
        try:
            with box.get_file(key) as fh:
                msg = email.message_from_binary_file(fh)
        except FileNotFoundError:
            continue
        counts[msg.get("Message-ID", "")] += 1
    return counts


def wait_until(predicate: Callable[[], bool], timeout_s: float, interval_s: float = 0.2,
               what: str = "condition") -> None:
    """Poll `predicate` until true; AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    if not predicate():
        raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


class WorkerThread:
    """`run_worker` in a background thread (no signal handling there); `stop()` joins it."""

    def __init__(self, name: str, settings, **kwargs):
        import threading

        from consumers.runtime import run_worker

        self.stop_event = threading.Event()
        self.result = None
        self.error: BaseException | None = None
        self.worker = None
        ready = threading.Event()

        def _on_ready(worker):
            self.worker = worker
            ready.set()

        def _run():
            try:
                self.result = run_worker(name, settings, stop_event=self.stop_event,
                                         on_ready=_on_ready, **kwargs)
            except BaseException as exc:  # reported by stop()/check(), not lost
                self.error = exc
                ready.set()

        self._thread = threading.Thread(target=_run, name=f"worker-{name}", daemon=True)
        self._thread.start()
        if not ready.wait(60):
            self.stop_event.set()
            self._thread.join(10)
            raise AssertionError(f"worker {name} not ready within 60s")
        self.check()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 60.0):
        self.stop_event.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            raise AssertionError(f"worker thread did not stop within {timeout_s}s")
        self.check()
        return self.result
