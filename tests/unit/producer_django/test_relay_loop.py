"""The relay loop's decisions (backoff, stop, cleanup) with fake store and sender."""

import threading

from producer_django.events.relay.loop import LoopSettings, Relay
from producer_django.events.relay.sender import SendResult

SETTINGS = LoopSettings(
    poll_interval_s=0.0, backoff_initial_s=0.01, backoff_max_s=0.02, retention_s=60,
    cleanup_interval_s=3600,
)


class FakeStore:
    def __init__(self, batches):
        self.batches = list(batches)
        self.marked = []
        self.cleanups = 0
        self.analyzed = 0

    def refresh_statistics(self):
        self.analyzed += 1

    def batch(self):
        return threading.Lock()  # any context manager

    def claim(self):
        return self.batches.pop(0) if self.batches else []

    def mark(self, rows, results, dead=None):
        self.marked.append(dict(results))

    def has_pending(self):
        return bool(self.batches)

    def wait_for_rows(self, timeout_s, stop):
        stop.wait(timeout_s)

    def cleanup(self, cutoff):
        self.cleanups += 1
        return 0


class FakeSender:
    def __init__(self, outcomes):
        self.outcomes = list(outcomes)

    def send(self, rows, progress):
        progress()
        ok = self.outcomes.pop(0)
        return SendResult({r: (None if ok else "delivery failed") for r in rows})


def test_marks_what_was_sent_and_stops_when_empty():
    store = FakeStore([[1, 2], [3]])
    relay = Relay(store, FakeSender([True, True]), SETTINGS)
    relay.run(threading.Event(), until_empty=True)
    assert store.marked == [{1: None, 2: None}, {3: None}]
    assert relay.totals == {"delivered": 3, "failed": 0}
    assert store.cleanups == 1


def test_backs_off_and_retries_while_nothing_gets_through():
    store = FakeStore([[1], [1], [1]])
    beats = []
    sender = FakeSender([False, False, True])
    relay = Relay(store, sender, SETTINGS, heartbeat=lambda: beats.append(1))
    relay.run(threading.Event(), until_empty=True)
    assert [m[1] for m in store.marked] == ["delivery failed", "delivery failed", None]
    assert relay.totals == {"delivered": 1, "failed": 2}
    assert beats


def test_stop_event_ends_the_loop():
    stop = threading.Event()
    stop.set()
    store = FakeStore([[1]])
    Relay(store, FakeSender([True]), SETTINGS).run(stop)
    assert store.marked == []


def test_database_error_reconnects_and_retries():
    from django.db import OperationalError

    class FlakyStore(FakeStore):
        resets = 0
        failures = 1

        def claim(self):
            if self.failures:
                self.failures -= 1
                raise OperationalError("server closed the connection unexpectedly")
            return super().claim()

        def reset_connection(self):
            self.resets += 1

    store = FlakyStore([[1]])
    Relay(store, FakeSender([True]), SETTINGS).run(threading.Event(), until_empty=True)
    assert store.resets == 1 and store.marked == [{1: None}]
