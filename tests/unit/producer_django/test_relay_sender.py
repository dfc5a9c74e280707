"""The sender's batch protocol against a fake librdkafka producer (pure logic)."""

from confluent_kafka import KafkaError

from producer_django.events.relay.rows import ClaimedRow
from producer_django.events.relay.sender import KafkaSender, producer_conf
from schemas.config import ConnectionSettings
from schemas.errors import SerializationError


class FakeError:
    def __init__(self, text, fatal=False, code=None):
        self.text, self._fatal, self._code = text, fatal, code

    def str(self):
        return self.text

    def fatal(self):
        return self._fatal

    def code(self):
        return self._code


class FakeProducer:
    """Queues produce() calls; flush() reports them, failing the keys listed in `fail`."""

    def __init__(self, conf, fail=(), fatal=False, broker_limit=None):
        self.conf = conf
        # Like a broker whose topic limit is lower than the catalog's: a flushed batch over
        # it is refused whole.
        self.broker_limit = broker_limit
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
        if self.broker_limit and sum(len(q[1]) for q in self.queue) > self.broker_limit:
            refused, self.queue = self.queue, []
            for *_, cb in refused:
                cb(FakeError("too large", code=KafkaError.MSG_SIZE_TOO_LARGE), None)
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
        return b"\x00\x00\x00\x00\x01" + payload["event_id"].encode() + payload.get("blob", b"")


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


def test_row_over_the_topic_limit_is_set_aside_and_the_others_go_out():
    s, made = sender()
    huge = row(2, blob=b"x" * 1_100_000)
    result = s.send([row(1), huge, row(3)], progress=lambda: None)
    assert [sent[1] for sent in made[0].sent] == [b"k1", b"k3"]
    assert set(result.dead) == {2} and "max.message.bytes" in result.dead[2]
    assert (result.delivered, result.failed) == (2, 0)


def test_batch_refused_by_the_broker_is_resent_row_by_row_and_only_the_big_one_dies():
    s, made = sender(broker_limit=5000)
    big = row(2, blob=b"x" * 6000)
    result = s.send([row(1), big, row(3)], progress=lambda: None)
    assert result.results[1] is None and result.results[3] is None
    assert set(result.dead) == {2} and "broker refused" in result.dead[2]
    assert sorted(sent[1] for sent in made[0].sent) == [b"k1", b"k3"]


def test_producer_allows_the_largest_record_the_catalog_allows():
    conf = producer_conf(ConnectionSettings(), 7000, largest_record=5_000_000)
    assert conf["message.max.bytes"] == 5_000_000
    assert producer_conf(ConnectionSettings(), 7000)["message.max.bytes"] == 1_000_000
