"""Batched application gives what one change at a time gives; re-keyed records hold only
items of their own partition, placed where faust's partitioner puts their keys."""

import asyncio
import random

from aiokafka.partitioner import DefaultPartitioner
from faust.serializers import codecs

from streams.batch import ITEMS_PER_RECORD, Rekeyed
from streams.shop import sales
from streams.shop.inventory_state import Change, apply, apply_batch


def change(offset, delta, *, source="shop.orders:1", event_id=None, cause="OrderPlaced"):
    return Change(sku="A", delta=delta, sold=max(-delta, 0), cause_type=cause,
                  event_id=event_id or f"e{offset}", correlation_id="c", occurred_at_ms=1000,
                  n=0, source=source, offset=offset)


def one_at_a_time(state, changes, threshold):
    levels, alerts = [], []
    for c in changes:
        outcome = apply(state, c, threshold=threshold, producer="p")
        state = outcome.state
        levels.append(outcome.level)
        alerts += [outcome.alert] if outcome.alert and outcome.applied else []
    return state, levels, alerts


def workload(seed):
    rng = random.Random(seed)
    changes = [change(0, 20, source="shop.products:0", cause="ProductCreated")]
    changes += [change(n, rng.choice([-4, -3, 2, 5])) for n in range(1, 300)]
    # Redeliveries: a replayed offset, and the relay's second copy of an event.
    changes += [changes[rng.randrange(len(changes))] for _ in range(30)]
    changes += [change(1000 + n, -1, event_id=f"e{n}") for n in range(1, 20)]
    return changes


def test_a_batch_ends_where_one_change_at_a_time_ends():
    for seed in range(5):
        changes = workload(seed)
        state, levels, alerts = one_at_a_time(None, changes, threshold=5)
        batched_state, batched_alerts = None, []
        for start in range(0, len(changes), 37):
            outcome = apply_batch(batched_state, changes[start:start + 37], threshold=5,
                                  producer="p")
            batched_state = outcome.state
            batched_alerts += [a for a in outcome.alerts if a not in batched_alerts]
        assert batched_state == state
        assert outcome.level == levels[-1]
        assert batched_alerts == alerts


def test_a_batch_of_duplicates_republishes_level_and_alert():
    state, _, _ = one_at_a_time(None, [change(0, 3, cause="ProductCreated")], threshold=5)
    outcome = apply_batch(state, [change(0, 3, cause="ProductCreated")], threshold=5,
                          producer="p")
    assert outcome.applied == 0 and outcome.state == state
    assert outcome.level == state["level"] and outcome.alerts == [state["alert"]]


def test_sales_in_a_batch_count_once():
    items = [sales.Sale(2, 60_000 * n, "shop.orders:0", n, f"e{n}:0") for n in range(10)]
    one = None
    for item in items + items[:3]:
        one = sales.apply_batch(one, "A", [item]) or one
    assert sales.apply_batch(None, "A", items + items[:3]) == one
    assert sales.apply_batch(one, "A", items) is None


class RecordingTopic:
    def __init__(self):
        self.sent = []

    async def send(self, **record):
        self.sent.append(record)


def test_rekeyed_records_hold_items_of_their_partition_only():
    topic = RecordingTopic()
    rekeyed = Rekeyed(topic, 3)
    items = [(f"SKU-{n % 50}", {"n": n}) for n in range(2 * ITEMS_PER_RECORD)]
    asyncio.run(rekeyed.send(items))
    faust_choice = DefaultPartitioner()
    got = []
    for record in topic.sent:
        assert record["force"] and len(record["value"]) <= ITEMS_PER_RECORD
        assert faust_choice(codecs.dumps("json", record["key"]), [0, 1, 2], [0, 1, 2]) == (
            record["partition"])
        for value in Rekeyed.items(record["value"]):
            assert rekeyed.partition_of(f"SKU-{value['n'] % 50}") == record["partition"]
            got.append(value["n"])
    assert sorted(got) == list(range(2 * ITEMS_PER_RECORD))
    assert Rekeyed.items({"n": 1}) == [{"n": 1}]
