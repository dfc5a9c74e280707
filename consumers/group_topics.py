"""Creating a consumer group's retry and dead-letter topics when they are missing."""

from __future__ import annotations

import logging

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from schemas.config import ConnectionSettings
from schemas.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

# Same as the topic catalog: retry topics keep a week, dead letters forever.
_RETRY_TOPIC_RETENTION_MS = "604800000"
_DLQ_RETENTION_MS = "-1"


def ensure_topics(settings: ConnectionSettings, names: list[str], partitions: int = 3) -> None:
    """Create the group's retry and dead-letter topics if missing (idempotent).

    The declared groups' topics are also applied with the catalog; a fresh group
    (e.g. a replay) gets its own here.
    """
    admin = AdminClient(settings.kafka_conf())
    try:
        existing = set(admin.list_topics(timeout=settings.timeout_s).topics)
    except KafkaException as exc:
        raise ServiceUnavailable(
            "Kafka broker", settings.bootstrap_servers, str(exc.args[0]),
            "Start the local stack with `pipeline up`, or set KAFKA_BOOTSTRAP_SERVERS",
        ) from exc
    missing = [n for n in names if n not in existing]
    if not missing:
        return
    # One replica on the local single broker, three on a real cluster (like the catalog).
    replicas = 1 if len(admin.list_topics(timeout=settings.timeout_s).brokers) < 3 else 3
    new = [
        NewTopic(n, num_partitions=partitions, replication_factor=replicas,
                 config={"retention.ms": _DLQ_RETENTION_MS if n.endswith(".dlq")
                         else _RETRY_TOPIC_RETENTION_MS})
        for n in missing
    ]
    for name, future in admin.create_topics(new, operation_timeout=30).items():
        try:
            future.result(timeout=60)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
            logger.debug("topic %s created concurrently", name)
