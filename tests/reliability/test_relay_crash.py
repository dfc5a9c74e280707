"""kill -9 the relay again and again during a few thousand writes: nothing committed is lost.

Counts by event_id with a real consumer; per-aggregate order must hold in log order. Log
duplicates (an event produced again because its relay died before marking it) are allowed and
reported.
"""

from __future__ import annotations

import random
import time
import uuid

from producer_django.shop.testing import ShopProcesses
from producer_django.testing import order_problems, read_topic, wait_until

EVENTS = 3000
MAX_KILLS = 10


def test_relay_killed_repeatedly_loses_no_event(settings, registry_client, tmp_path,
                                                record_property):
    shop = ShopProcesses(settings, tmp_path / "home")
    shop.setup()
    prefix = "rk" + uuid.uuid4().hex[:8]
    assert shop.workload("--prefix", prefix, "--skus", "50", "--events", "0", "--setup").wait(
        120) == 0
    writer = shop.workload("--prefix", prefix, "--skus", "50", "--events", str(EVENTS))
    rng = random.Random()
    kills = 0
    while kills < MAX_KILLS and (writer.poll() is None or kills < 5):
        pid = shop.start_relay(f"relay-{kills}")
        # Long enough to start (imports take seconds) and deliver part of the backlog.
        time.sleep(rng.uniform(2.5, 5.0))
        shop.kill9(pid)
        kills += 1
    assert writer.wait(300) == 0
    final = shop.start_relay("relay-final")
    assert wait_until(lambda: shop.pending() == 0, 180), "rows still pending"
    shop.stop(final)

    committed = shop.committed_ids("shop.inventory", prefix)
    events = read_topic(
        settings, registry_client, "shop.inventory", lambda k, h: (k or "").startswith(prefix),
        until=lambda ev: set(committed) <= {e.event_id for e in ev}, timeout_s=120,
    )
    seen = {e.event_id for e in events}
    missing = set(committed) - seen
    duplicates = len(events) - len(seen)
    record_property("relay_kills", kills)
    record_property("log_duplicates", duplicates)
    print(f"\nrelay kill -9 x{kills}: {len(committed)} committed, {len(seen)} distinct in Kafka, "
          f"{len(missing)} missing, {duplicates} log duplicates")
    assert len(committed) == EVENTS
    assert not missing, f"{len(missing)} committed events never reached Kafka"
    assert seen <= set(committed)
    assert order_problems(events) == []
