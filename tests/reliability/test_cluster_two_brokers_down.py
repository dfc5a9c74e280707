"""Two of three brokers down: the relay stops delivering and keeps every event in the outbox;
once one broker returns, it delivers them all, each exactly once.

The catalog runs at replication factor 3 and min.insync.replicas 2, so one broker alone cannot
acknowledge an `acks=all` write. Every node is also a controller, so two nodes down also take
the metadata quorum: the survivor cannot shrink the ISR, so it appends the relay's batches
without committing them, and the produce requests wait (rather than answer
NOT_ENOUGH_REPLICAS). Within the relay's message timeout the idempotent producer retries the
same batches and the broker drops the repeats: each event once in the log. An outage longer
than the message timeout (PIPELINE["MESSAGE_TIMEOUT_MS"], 30 s by default) makes the relay send
the rows again as new messages while the survivor's uncommitted copies become committed when a
broker returns: duplicates in the log, which the handlers' dedupe absorbs. So this test runs
the relay with a message timeout above the outage.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter

import pytest

from consumers.testing import wait_until
from deploy.runtime.bringup import up_with_catalog
from deploy.runtime.kafka import ClusterShape
from deploy.runtime.ports import free_port
from deploy.stack import Ports, Stack
from producer_django.shop.testing import ShopProcesses
from producer_django.testing import read_topic
from schemas import registry

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(1200)]

TOPIC = "shop.notifications"
BEFORE, DURING = 100, 200
DOWN_S = 20
# The relay's message timeout, above the whole outage (publishing, DOWN_S, a broker's restart).
MESSAGE_TIMEOUT_MS = 120_000


def test_two_brokers_down_keeps_events_in_the_outbox_until_one_returns(tmp_path,
                                                                         record_property):
    stack = Stack(home=tmp_path / "stack", ports=Ports(free_port(), free_port(), free_port()),
                  external=set(), shape=ClusterShape(brokers=3))
    shop = None
    try:
        up_with_catalog(stack, only=set())
        settings = stack.settings
        shop = ShopProcesses(settings, tmp_path / "shop",
                             pipeline={"MESSAGE_TIMEOUT_MS": MESSAGE_TIMEOUT_MS,
                                       "BACKOFF_MAX_S": 2.0})
        shop.setup()
        shop.start_relay()
        prefix = "tb" + uuid.uuid4().hex[:6]
        assert shop.publish_notifications(f"{prefix}-a", BEFORE).wait(120) == 0
        wait_until(lambda: shop.pending() == 0, 120, what="the first events delivered")

        survivor, *down = [n.name for n in stack.cluster.nodes]
        for name in down:
            stack.kill(name)
        assert shop.publish_notifications(f"{prefix}-b", DURING, pause_s=0).wait(120) == 0
        threading.Event().wait(DOWN_S)
        kept = shop.pending()
        assert kept == DURING, f"{DURING - kept} events left the outbox with one broker of three"

        stack.start(down[0])  # healthy once in the ISR of its partitions
        wait_until(lambda: shop.pending() == 0, 240, interval_s=1,
                   what="the outbox emptied once a second broker returned")
        events = read_topic(settings, registry.connect(settings), TOPIC,
                            lambda key, headers: (key or "").startswith(prefix),
                            until=lambda found: len({e.event_id for e in found})
                            >= BEFORE + DURING, timeout_s=120)
        stack.start(down[1])
        wait_until(lambda: all(n.healthy() for n in stack.cluster.nodes), 180,
                   what="every broker healthy, no under-replicated partition")
        relay_log = (shop.home / "relay.log").read_text(errors="replace")
    finally:
        if shop is not None:
            shop.close()
        stack.down()

    committed = {f"{prefix}-{part}-{n}" for part, count in (("a", BEFORE), ("b", DURING))
                 for n in range(count)}
    records = Counter(e.event_id for e in events)
    keys = {e.key for e in events}
    record_property("records", sum(records.values()))
    print(f"\nsurvivor {survivor}; {kept} events kept in the outbox while {down} were down; "
          f"{len(records)} events, {sum(records.values())} records in {TOPIC}")
    print("relay said: " + " | ".join(line[24:160] for line in relay_log.splitlines()
                                      if "WARNING" in line or "ERROR" in line)[-1200:])
    assert keys == committed, f"lost: {sorted(committed - keys)[:5]}"
    assert set(records.values()) == {1}, "events delivered more than once"

