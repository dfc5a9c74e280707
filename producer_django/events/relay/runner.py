"""Wiring the relay from the app's settings, and running it until stopped."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from django.db import connections

from producer_django.events.conf import connection_settings, pipeline_settings
from producer_django.events.relay.lock import ClaimLock
from producer_django.events.relay.loop import LoopSettings, Relay
from producer_django.events.relay.sender import KafkaSender
from producer_django.events.relay.store import OutboxStore
from schemas import registry
from schemas.errors import ConfigError
from schemas.serde import EventSerializer

logger = logging.getLogger(__name__)


def build_relay(heartbeat=lambda: None, batch_size: int | None = None,
                stop: threading.Event | None = None) -> Relay:
    conf = pipeline_settings()
    settings = connection_settings(conf)
    # check=False: the relay starts (and waits) even while the registry is still coming up.
    serializer = EventSerializer(registry.connect(settings, check=False))
    store = OutboxStore(
        conf["DATABASE"], batch_size or conf["BATCH_SIZE"], conf["BACKOFF_INITIAL_S"],
        conf["BACKOFF_MAX_S"],
    )
    sender = KafkaSender(settings, serializer, conf["MESSAGE_TIMEOUT_MS"], stop=stop)
    return Relay(store, sender, LoopSettings.from_pipeline(conf), heartbeat=heartbeat)


def run_relay(
    stop: threading.Event,
    *,
    heartbeat_path: Path | None = None,
    until_empty: bool = False,
    batch_size: int | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> dict:
    """Run until `stop` is set (or the outbox is empty with `until_empty`); returns totals.
    With `metrics_port`, Prometheus metrics are served on metrics_host:metrics_port."""
    beat = _heartbeat(heartbeat_path)
    metrics = None
    if metrics_port:
        from producer_django.events.health import outbox_stats
        from producer_django.events.relay.metrics import RelayMetrics

        metrics = RelayMetrics()
        metrics.serve(metrics_port, metrics_host)
        touch = beat

        def beat() -> None:
            touch()
            metrics.refresh_backlog(outbox_stats)

    relay = build_relay(beat, batch_size, stop=stop)
    if metrics is not None:
        relay.on_batch = lambda outcome, seconds: metrics.batch(
            outcome.delivered, outcome.failed, seconds
        )
    _require_tables(relay.store.alias)
    lock = None
    if not relay.store.locks_rows:
        lock = ClaimLock(_lock_path(relay.store.alias))
        if not lock.acquire(stop):
            return relay.totals
    logger.info(
        "relay started: database %s (%s), kafka %s", relay.store.alias,
        "row locks, several relays allowed" if lock is None else "single claimer",
        relay.sender.settings.bootstrap_servers,
    )
    if metrics is not None:
        metrics.ready.set(1)
    try:
        relay.run(stop, until_empty=until_empty)
    finally:
        relay.sender.close()
        if lock:
            lock.release()
    logger.info("relay stopped: %s", relay.totals)
    return relay.totals


def _require_tables(alias: str) -> None:
    if "events_outbox" not in connections[alias].introspection.table_names():
        raise ConfigError(
            f"database {alias!r} has no outbox table; run `python manage.py migrate` first"
        )


def _lock_path(alias: str) -> str:
    name = str(connections[alias].settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        return os.path.join(os.getcwd(), f".relay-{alias}.lock")
    return name + ".relay.lock"


def _heartbeat(path: Path | None):
    if path is None:
        return lambda: None
    path.parent.mkdir(parents=True, exist_ok=True)

    def beat() -> None:
        path.touch()

    return beat
