"""The range reader's stopping rules, on a fake consumer (a confluent Message cannot be built)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from consumers.replay.errors import ReplayError
from consumers.replay.ranges import Bound, PartitionRange, TopicRange
from consumers.replay.reader import read_batches


class FakeMessage:
    def __init__(self, partition, offset, eof=False):
        self._partition, self._offset, self._eof = partition, offset, eof

    def error(self):
        return KafkaError(KafkaError._PARTITION_EOF) if self._eof else None

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset


class FakeConsumer:
    def __init__(self, batches):
        self.batches = list(batches)
        self.paused = []

    def assign(self, partitions):
        self.assigned = [(tp.partition, tp.offset) for tp in partitions]

    def pause(self, partitions):
        self.paused += [tp.partition for tp in partitions]

    def consume(self, n, timeout):
        return self.batches.pop(0) if self.batches else []


def topic_range(*parts):
    return TopicRange("t", tuple(PartitionRange(p, s, e, 0, e) for p, s, e in parts),
                      Bound("beginning"), Bound("end"))


def test_stops_at_each_partition_end_and_skips_what_lies_beyond():
    consumer = FakeConsumer([
        [FakeMessage(0, 5), FakeMessage(1, 0), FakeMessage(0, 6)],
        [FakeMessage(0, 7), FakeMessage(1, 1), FakeMessage(1, 2)],  # 0@7 is past the end
    ])
    got = [(m.partition(), m.offset()) for b in read_batches(consumer, topic_range((0, 5, 7),
                                                                                  (1, 0, 3)))
           for m in b]
    assert got == [(0, 5), (1, 0), (0, 6), (1, 1), (1, 2)]
    assert consumer.assigned == [(0, 5), (1, 0)]
    assert sorted(consumer.paused) == [0, 1]


def test_end_behind_transaction_markers_finishes_on_eof():
    # Offset 2 is a commit marker: no record has it, EOF arrives at 3 = the end.
    consumer = FakeConsumer([[FakeMessage(0, 0), FakeMessage(0, 1), FakeMessage(0, 3, eof=True)]])
    got = [m.offset() for b in read_batches(consumer, topic_range((0, 0, 3))) for m in b]
    assert got == [0, 1]


def test_a_stalled_partition_is_an_error_not_a_hang():
    consumer = FakeConsumer([[FakeMessage(0, 0)]])
    with pytest.raises(ReplayError, match="partition 0 at offset 1 of 5"):
        for _ in read_batches(consumer, topic_range((0, 0, 5)), idle_timeout_s=0.3):
            pass


def test_empty_range_reads_nothing():
    consumer = FakeConsumer([])
    assert list(read_batches(consumer, topic_range((0, 4, 4)))) == []


def test_bulk_readers_refill_their_fetch_queue_without_librdkafkas_one_second_pause():
    # librdkafka refuses unknown keys when the client is built: this also proves the installed
    # version knows fetch.queue.backoff.ms.
    from consumers.replay.reader import make_consumer
    from schemas.config import ConnectionSettings
    from schemas.kafka_io import BULK_CONSUMER_CONF

    assert BULK_CONSUMER_CONF["fetch.queue.backoff.ms"] < 1000
    make_consumer(ConnectionSettings(bootstrap_servers="127.0.0.1:1")).close()
