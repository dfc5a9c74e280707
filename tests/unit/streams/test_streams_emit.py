"""Immediate sends (`now=True`) go straight to the app's producer, count as faust's sends, and
`delivered` waits for every one of them and reports one that failed. The producer is a fake:
this tests the bookkeeping alone (the fanout integration tests send to a real broker)."""

import asyncio

import pytest
from faust.exceptions import ProducerSendError

from streams.emit import Emitter

RECORD = {"event_id": "e1", "correlation_id": "c1", "aggregate_id": "k", "keys": ["product:A"]}


class Serializer:
    def serialize(self, event_type, record):
        return f"{event_type}:{record['event_id']}".encode()


class Producer:
    def __init__(self):
        self.sent, self.deliveries = [], []

    async def send(self, topic, key, value, *, partition, timestamp, headers):
        self.sent.append((topic, key, value, dict(headers)))
        delivery = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        return delivery


class Sensors:
    def __init__(self):
        self.sent: dict[str, int] = {}

    def on_send_initiated(self, producer, topic, *, message, keysize, valsize):
        self.sent[topic] = self.sent.get(topic, 0) + 1


class App:
    def __init__(self):
        self.producer, self.sensors = Producer(), Sensors()


class Topic:
    def __init__(self, app, name):
        self.app, self.name = app, name

    def get_topic_name(self):
        return self.name


def run(coro):
    return asyncio.run(coro)


def test_an_immediate_send_goes_to_the_producer_and_is_counted():
    async def scenario():
        app = App()
        emitter = Emitter(Serializer())
        await emitter.send(Topic(app, "cache"), "CacheInvalidated", RECORD, now=True)
        topic, key, value, headers = app.producer.sent[0]
        assert (topic, key, value) == ("cache", b"k", b"CacheInvalidated:e1")
        assert headers["event_type"] == b"CacheInvalidated" and headers["event_id"] == b"e1"
        assert app.sensors.sent == {"cache": 1}

    run(scenario())


def test_delivered_waits_for_every_immediate_send():
    async def scenario():
        app = App()
        emitter = Emitter(Serializer())
        for n in range(3):
            await emitter.send(Topic(app, "cache"), "CacheInvalidated",
                               {**RECORD, "event_id": f"e{n}"}, now=True)
        waiting = asyncio.ensure_future(emitter.delivered())
        for delivery in app.producer.deliveries[:2]:
            delivery.set_result(None)
        await asyncio.sleep(0.01)
        assert not waiting.done(), "returned before the third send was acknowledged"
        app.producer.deliveries[2].set_result(None)
        await asyncio.wait_for(waiting, 1)

    run(scenario())


def test_a_failed_delivery_is_raised_once_by_delivered():
    async def scenario():
        app = App()
        emitter = Emitter(Serializer())
        topic = Topic(app, "cache")
        await emitter.send(topic, "CacheInvalidated", RECORD, now=True)
        await emitter.send(topic, "CacheInvalidated", {**RECORD, "event_id": "e2"}, now=True)
        app.producer.deliveries[0].set_exception(TimeoutError("no broker"))
        app.producer.deliveries[1].set_result(None)
        with pytest.raises(ProducerSendError, match="no broker"):
            await emitter.delivered()
        # The failure belonged to the batch that raised it; the next batch starts clean.
        await emitter.delivered()

    run(scenario())
