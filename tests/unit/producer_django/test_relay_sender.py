"""The sender's batch protocol against a fake librdkafka producer (pure logic)."""

from producer_django.events.relay.rows import ClaimedRow
from producer_django.events.relay.sender import KafkaSender, producer_conf
from schemas.config import ConnectionSettings
from schemas.errors import SerializationError


class FakeError:
    def __init__(self, text, fatal=False):
        self.text, self._fatal = text, fatal

    def str(self):
        return self.text

    def fatal(self):
        return self._fatal


class FakeProducer:
    """Queues produce() calls; flush() reports them, failing the keys listed in `fail`."""

    def __init__(self, conf, fail=(), fatal=False):
        self.conf = conf
        self.queue = []
        self.sent = []
        self.fail = set(fail)
        self.fatal = fatal
        self.purged = False

    def produce(self, topic, value, key, headers, on_delivery):
        self.queue.append((topic, value, key, headers, on_delivery))

    def flush(self, timeout=None):
        if self.fatal:
            self.conf["error_cb"](FakeError("fenced", fatal=True))
            self.fatal = False
        while self.queue:
            topic, value, key, headers, cb = self.queue.pop(0)
            self.sent.append((topic, key, value, dict(headers)))
            cb(FakeError("timed out") if key.decode() in self.fail else None, None)
        return 0

    def purge(self):
        self.purged = True


class FakeSerializer:
    def serialize(self, event_type, payload):
        if payload.get("bad"):
            raise SerializationError(event_type, "field 'sku' is missing", field="sku")
        return b"\x00\x00\x00\x00\x01" + payload["event_id"].encode()


def row(n, key=None, **extra):
    payload = {"event_id": f"e{n}", "correlation_id": "c", **extra}
    return ClaimedRow(n, "StockAdjusted", "shop.inventory", key or f"k{n}", payload, "00-tp", 0)


def sender(**fake):
    made = []

    def make(conf):
        made.append(FakeProducer(conf, **fake))
        return made[-1]

    return KafkaSender(ConnectionSettings(), FakeSerializer(), 5000, make_producer=make), made


def test_producer_is_idempotent_with_acks_all():
    conf = producer_conf(ConnectionSettings(kafka_extra={"client.id": "x"}), 7000)
    assert conf["enable.idempotence"] is True and conf["acks"] == "all"
    assert conf["message.timeout.ms"] == 7000 and conf["client.id"] == "x"


def test_fire_then_flush_reports_every_row_with_key_and_headers():
    s, made = sender()
    result = s.send([row(1), row(2)], progress=lambda: None)
    assert result.results == {1: None, 2: None}
    topic, key, value, headers = made[0].sent[0]
    assert (topic, key) == ("shop.inventory", b"k1")
    assert headers["event_type"] == b"StockAdjusted" and headers["event_id"] == b"e1"
    assert headers["traceparent"] == b"00-tp"


def test_failed_delivery_is_reported_not_marked():
    s, _ = sender(fail={"k2"})
    result = s.send([row(1), row(2)], progress=lambda: None)
    assert result.results[1] is None
    assert "timed out" in result.results[2]
    assert (result.delivered, result.failed) == (1, 1)


def test_unencodable_row_fails_alone_and_is_not_produced():
    s, made = sender()
    result = s.send([row(1, bad=True), row(2)], progress=lambda: None)
    assert result.results[1].startswith("cannot encode") and "sku" in result.results[1]
    assert [sent[1] for sent in made[0].sent] == [b"k2"]


def test_fatal_error_replaces_the_producer():
    s, made = sender(fatal=True)
    s.send([row(1)], progress=lambda: None)
    assert made[0].purged
    s.send([row(2)], progress=lambda: None)
    assert len(made) == 2
