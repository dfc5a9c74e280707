"""What every stream app shares: the faust App configuration and the schema-backed topics.

    settings = from_env("revenue")          # streams.settings
    app = make_app(settings)                # a faust.App configured from the settings
    ctx = Context(app, settings)            # sources, outputs, dead letters, emit

See streams/README.md, "Write your own stream app".
"""

from __future__ import annotations

import importlib.util
import logging
import ssl
from collections.abc import Mapping

import faust

from schemas import registry
from schemas.errors import ConfigError
from schemas.serde import EventDeserializer, EventSerializer
from streams.batch import BATCH_SIZE, BATCH_WITHIN_S, batches
from streams.codec import REASON_PERMANENT, DeadLetteringTopic, EventCodec, send_dead_letter
from streams.emit import Emitter
from streams.metrics import add_metrics
from streams.settings import StreamSettings

logger = logging.getLogger(__name__)

# A killed worker must leave the group quickly, or the survivors wait for its session to time
# out before the rebalance completes (faust's default is 60 s).
SESSION_TIMEOUT_S = 10.0
HEARTBEAT_INTERVAL_S = 3.0


def make_app(settings: StreamSettings, *, producer_linger_s: float = 0.0) -> faust.App:
    """A faust App with the pipeline's defaults: at-least-once, quick rebalances, web server
    with GET /metrics (`streams.metrics`).

    `producer_linger_s`: how long the producer holds a record to fill a request with more. An
    app that writes several small records per input (a changelog record and an output per
    table key) sends fewer requests with a few ms; one that waits for its sends at the end of
    every batch (`Context.batches`) would wait that long too, and keeps 0."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    brokers = ";".join(
        f"kafka://{h.strip()}" for h in settings.connection.bootstrap_servers.split(",")
    )
    app = faust.App(
        settings.app_id,
        broker=brokers,
        broker_credentials=broker_credentials(settings.connection.kafka_extra),
        store=_store_url(settings),
        datadir=str(settings.data_dir),
        autodiscover=False,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        # Internal, changelog and dead-letter topics; min(3, brokers) on a local stack.
        topic_replication_factor=settings.replication_factor,
        topic_partitions=3,
        # Standby copies would make the local sales summary count partitions twice; a new
        # owner restores from the changelog instead.
        table_standby_replicas=0,
        broker_session_timeout=SESSION_TIMEOUT_S,
        broker_heartbeat_interval=HEARTBEAT_INTERVAL_S,
        broker_request_timeout=30.0,
        # Internal and changelog topics are created while the worker starts; when the group is
        # joined before the new topics show in the consumer's metadata, faust leaves them
        # unassigned until the next metadata refresh (5 minutes by default).
        consumer_metadata_max_age_ms=5000,
        producer_acks=-1,
        # Bytes per partition batch. aiokafka sends a request per full batch, and the default
        # (16 KB) holds about a hundred derived events: a fanout app spent more on requests
        # than on its events. Far below the broker's 1 MB message limit.
        producer_max_batch_size=256 * 1024,
        producer_linger=producer_linger_s,
        web_enabled=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        canonical_url=settings.web_url,
        web_in_thread=False,
    )
    add_metrics(app, settings.dead_letter_topic)
    return app


def broker_credentials(conf: Mapping[str, str]):
    """aiokafka's equivalent of the librdkafka security keys every other client gets
    (KAFKA_CONF_*): SASL (PLAIN, SCRAM-SHA-256/512) and TLS with a CA file and an optional
    client certificate. None for a plaintext cluster."""
    protocol = str(conf.get("security.protocol", "plaintext")).upper()
    if protocol == "PLAINTEXT":
        return None
    context = _ssl_context(conf) if protocol in ("SSL", "SASL_SSL") else None
    if protocol in ("SASL_SSL", "SASL_PLAINTEXT"):
        missing = [k for k in ("sasl.username", "sasl.password") if not conf.get(k)]
        if missing:
            raise ConfigError(
                f"security.protocol {protocol} needs {missing}; set "
                + ", ".join("KAFKA_CONF_" + k.upper().replace(".", "_") for k in missing)
            )
        mechanism = conf.get("sasl.mechanism") or conf.get("sasl.mechanisms") or "PLAIN"
        return faust.SASLCredentials(
            username=conf["sasl.username"], password=conf["sasl.password"],
            mechanism=str(mechanism).upper(), ssl_context=context,
        )
    if protocol == "SSL":
        return faust.SSLCredentials(context)
    raise ConfigError(
        f"security.protocol {protocol!r} is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; "
        "fix KAFKA_CONF_SECURITY_PROTOCOL"
    )


def _ssl_context(conf: Mapping[str, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=conf.get("ssl.ca.location") or None)
    if conf.get("ssl.certificate.location"):
        context.load_cert_chain(conf["ssl.certificate.location"], conf.get("ssl.key.location"),
                                conf.get("ssl.key.password"))
    if str(conf.get("enable.ssl.certificate.verification", "true")).lower() == "false":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _store_url(settings: StreamSettings) -> str:
    if settings.store == "rocksdb" and importlib.util.find_spec("rocksdict") is None:
        # Still correct, only slower to start: the table is rebuilt from its changelog.
        logger.warning("rocksdict is not installed; using the memory store (pip install rocksdict)")
        return "memory://"
    return settings.store_url


class Context:
    """The schema-backed pieces an app's agents use: sources (decoded `streams.codec.Event`s,
    undecodable records dead-lettered), outputs, `emit` of catalog events, `dead_letter`."""

    def __init__(self, app: faust.App, settings: StreamSettings):
        self.app = app
        self.settings = settings
        self.producer_name = settings.app_id
        # The registry client connects lazily, on the first decode or encode.
        client = registry.connect(settings.connection, check=False)
        self.codec = EventCodec(EventDeserializer(client))
        self.emitter = Emitter(EventSerializer(client))
        self.dead_letters = app.topic(
            settings.dead_letter_topic, key_serializer="raw", value_serializer="raw",
            partitions=3, internal=True,
        )

        # The catalog creates the live app's topics; a copy (`pipeline rebuild`) needs its own.
        self._to_declare = [self.dead_letters]

        @app.task
        async def declare_own_topics() -> None:
            for topic in self._to_declare:
                await topic.maybe_declare()

    def source(self, name: str, **kwargs) -> DeadLetteringTopic:
        """A catalog topic whose values arrive decoded as `streams.codec.Event`."""
        return DeadLetteringTopic(
            self.app, topics=[name], key_type=bytes, key_serializer="raw",
            value_serializer=self.codec, dead_letters=self.dead_letters, **kwargs,
        )

    def output(self, name: str):
        """A topic to emit events to; STREAMS_OUTPUT_* may point it elsewhere (a copy's own)."""
        target = self.settings.output_topic(name)
        topic = self.app.topic(target, key_serializer="raw", value_serializer="raw")
        if target != name and name not in self.settings.output_topics:
            # Redirected by prefix: nobody else knows this topic, so the app creates it.
            self._to_declare.append(topic)
        return topic

    async def dead_letter(self, message, exc: BaseException) -> None:
        """A decoded event this app cannot handle (e.g. a derived event would not validate)."""
        await send_dead_letter(self.dead_letters, message, exc, self.app.conf.id, REASON_PERMANENT)

    async def emit(self, topic, event_type: str, record: dict, *, now: bool = False):
        """Send a catalog event; `now` from a batch body (`batches` below)."""
        return await self.emitter.send(topic, event_type, record, now=now)

    async def batches(self, stream, size: int = BATCH_SIZE, within: float = BATCH_WITHIN_S):
        """`streams.batch.batches`, and a batch's events are acked only once the events its
        body emitted with `now=True` are delivered (a failed delivery raises instead)."""
        async for events in batches(stream, size, within):
            yield events
            await self.emitter.delivered()
