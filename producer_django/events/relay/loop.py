"""The relay loop: claim a batch, send it, mark it; back off while nothing gets through."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.db import DatabaseError

if TYPE_CHECKING:
    from producer_django.events.relay.sender import KafkaSender
    from producer_django.events.relay.store import OutboxStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    poll_interval_s: float
    backoff_initial_s: float
    backoff_max_s: float
    retention_s: float
    cleanup_interval_s: float

    @classmethod
    def from_pipeline(cls, conf: dict) -> LoopSettings:
        return cls(
            poll_interval_s=conf["POLL_INTERVAL_S"],
            backoff_initial_s=conf["BACKOFF_INITIAL_S"],
            backoff_max_s=conf["BACKOFF_MAX_S"],
            retention_s=conf["RETENTION_S"],
            cleanup_interval_s=conf["CLEANUP_INTERVAL_S"],
        )


@dataclass(frozen=True)
class BatchOutcome:
    claimed: int
    delivered: int
    failed: int
    dead: int = 0  # moved to the dead letters: never deliverable, so no reason to back off


class Relay:
    def __init__(
        self,
        store: OutboxStore,
        sender: KafkaSender,
        settings: LoopSettings,
        heartbeat: Callable[[], None] = lambda: None,
        on_batch: Callable[[BatchOutcome, float], None] = lambda outcome, seconds: None,
    ):
        self.store = store
        self.sender = sender
        self.settings = settings
        self.heartbeat = heartbeat
        # Called after every batch that claimed rows (metrics).
        self.on_batch = on_batch
        self.totals = {"delivered": 0, "failed": 0}
        self._next_cleanup = 0.0

    def run_once(self) -> BatchOutcome:
        """One batch: claim heads, produce them, mark the acknowledged ones."""
        started = time.monotonic()
        with self.store.batch():
            rows = self.store.claim()
            if not rows:
                return BatchOutcome(0, 0, 0)
            sent = self.sender.send(rows, progress=self.heartbeat)
            self.store.mark(rows, sent.results, sent.dead)
        self.totals["delivered"] += sent.delivered
        self.totals["failed"] += sent.failed
        outcome = BatchOutcome(len(rows), sent.delivered, sent.failed, len(sent.dead))
        self.on_batch(outcome, time.monotonic() - started)
        return outcome

    def run(self, stop: threading.Event, until_empty: bool = False) -> None:
        """Loop until `stop` is set (SIGTERM), finishing the batch in hand first."""
        backoff = 0.0
        self._refresh_statistics()
        while not stop.is_set():
            self.heartbeat()
            try:
                outcome = self.run_once()
                self._maybe_cleanup()
            except DatabaseError as exc:
                # The database went away (restart, failover): reconnect after a pause; the
                # rows of the interrupted batch were not marked and go out again.
                backoff = self._next_backoff(backoff)
                logger.error("database error: %s; retrying in %.1fs", exc, backoff)
                self.store.reset_connection()
                stop.wait(backoff)
                continue
            if outcome.claimed > outcome.dead and not outcome.delivered:
                # Nothing got through: the broker or registry is likely down. Back off.
                backoff = self._next_backoff(backoff)
                logger.warning(
                    "%d events could not be delivered; retrying in %.1fs", outcome.failed, backoff
                )
                stop.wait(backoff)
                continue
            if backoff and outcome.delivered:
                logger.info("delivering again")
            backoff = 0.0
            if outcome.claimed == 0:
                if until_empty and not self.store.has_pending():
                    return
                self.store.wait_for_rows(self.settings.poll_interval_s, stop)

    def _refresh_statistics(self) -> None:
        try:
            self.store.refresh_statistics()
        except DatabaseError as exc:
            logger.warning("could not refresh the outbox statistics: %s", exc)

    def _next_backoff(self, backoff: float) -> float:
        return min(max(backoff * 2, self.settings.backoff_initial_s), self.settings.backoff_max_s)

    def _maybe_cleanup(self) -> None:
        now = time.monotonic()
        if now < self._next_cleanup:
            return
        self._next_cleanup = now + self.settings.cleanup_interval_s
        self._refresh_statistics()
        cutoff = datetime.now(UTC) - timedelta(seconds=self.settings.retention_s)
        deleted = self.store.cleanup(cutoff)
        if deleted:
            logger.info("deleted %d published rows older than %ss", deleted,
                        self.settings.retention_s)
