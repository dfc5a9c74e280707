"""kill -9 the broker for longer than the relay's message timeout while the API keeps writing.

The API must keep answering (events wait in the outbox); after the broker is back every
committed event is in Kafka exactly as committed, per-aggregate order intact.
"""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from producer_django.shop.testing import ShopProcesses
from producer_django.testing import order_problems, read_topic, wait_until

MESSAGE_TIMEOUT_MS = 3000
OUTAGE_S = 10  # > MESSAGE_TIMEOUT_MS, so messages in flight time out inside the producer


def test_broker_outage_longer_than_message_timeout(stack, settings, registry_client, tmp_path,
                                                   record_property):
    if "kafka" in stack.external:
        pytest.skip("the broker is external (KAFKA_BOOTSTRAP_SERVERS); it cannot be killed here")
    shop = ShopProcesses(settings, tmp_path / "home",
                         pipeline={"MESSAGE_TIMEOUT_MS": MESSAGE_TIMEOUT_MS, "BACKOFF_MAX_S": 2.0})
    stop = threading.Event()
    try:
        shop.setup()
        prefix = "bo" + uuid.uuid4().hex[:8]
        assert shop.workload("--prefix", prefix, "--skus", "20", "--events", "0", "--setup").wait(
            120) == 0
        # One token writes as fast as it can here: the per-user write throttle would answer 429.
        shop.env.update(DJANGO_WRITE_THROTTLE_RATE="off")
        shop.start_server()
        relay = shop.start_relay()
        statuses: list[int] = []

        def write():
            http = httpx.Client(base_url=shop.server.url, timeout=30,
                                headers={"Authorization": f"Token {shop.server.api_token()}"})
            n = 0
            while not stop.is_set():
                r = http.post(f"/api/inventory/{prefix}-{n % 20}/adjust/",
                              json={"delta": 1, "reason": "outage test"})
                statuses.append(r.status_code)
                n += 1
            http.close()

        writer = threading.Thread(target=write)
        writer.start()
        try:
            time.sleep(3)
            stack.kill("kafka")
            during_outage = len(statuses)
            time.sleep(OUTAGE_S)
            written_while_down = len(statuses) - during_outage
            backlog_while_down = shop.pending()
        finally:
            stack.start("kafka")  # later tests need the broker whatever happened here
        time.sleep(3)
        stop.set()
        writer.join(60)
        assert wait_until(lambda: shop.pending() == 0, 180), "rows still pending after the outage"
        assert shop.server.healthy()
    finally:
        stop.set()  # ends the writer thread if an assertion failed
        shop.close()

    relay_log = (shop.home / "relay.log").read_text()
    committed = shop.committed_ids("shop.inventory", prefix)
    events = read_topic(
        settings, registry_client, "shop.inventory", lambda k, h: (k or "").startswith(prefix),
        until=lambda ev: set(committed) <= {e.event_id for e in ev}, timeout_s=120,
    )
    seen = {e.event_id for e in events}
    missing = set(committed) - seen
    duplicates = len(events) - len(seen)
    record_property("log_duplicates", duplicates)
    print(f"\nbroker down {OUTAGE_S}s (message timeout {MESSAGE_TIMEOUT_MS} ms): "
          f"{len(statuses)} API writes ({written_while_down} while down, backlog "
          f"{backlog_while_down}), {len(committed)} committed, {len(missing)} missing, "
          f"{duplicates} log duplicates")
    assert set(statuses) == {200}
    assert written_while_down > 0 and backlog_while_down > 0
    assert len(committed) == len(statuses)
    assert not missing, f"{len(missing)} committed events never reached Kafka"
    assert order_problems(events) == []
    assert "could not be delivered" in relay_log
    assert relay in shop.pids
