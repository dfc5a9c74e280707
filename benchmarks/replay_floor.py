"""The least a Python replay can do, for bench_replay's ceiling: every value of a topic, one per
line, to stdout, read by one process with the replay's consumer settings.

    python -m benchmarks.replay_floor TOPIC      (KAFKA_BOOTSTRAP_SERVERS names the broker)
"""

from __future__ import annotations

import sys

from confluent_kafka import KafkaError, TopicPartition

from consumers.replay.reader import make_consumer
from schemas.config import from_env


def main(topic: str) -> int:
    consumer = make_consumer(from_env())
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    out = sys.stdout.buffer
    left = len(partitions)  # partitions not at their end yet
    while left:
        values = []
        for msg in consumer.consume(20_000, timeout=0.5):
            err = msg.error()
            if err is None:
                values.append(msg.value())
            elif err.code() == KafkaError._PARTITION_EOF:
                left -= 1
        if values:
            values.append(b"")
            out.write(b"\n".join(values))
    out.flush()
    consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
