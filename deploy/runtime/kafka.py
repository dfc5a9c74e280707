"""A single-node KRaft Kafka broker run with the machine's Java.

Its identity is the KRaft cluster id this home formatted (`data/meta.properties`): `verify()`
compares it with the id the broker on the port reports, so a stack never mistakes another
stack's broker, or any other service on its port, for its own.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from deploy.runtime import artifacts
from deploy.runtime.ports import port_open
from deploy.runtime.process import ProcessSpec

LOG4J_CONFIG = Path(__file__).parent.parent / "kafka" / "log4j2.properties"
PROBE_TIMEOUT_S = 3.0
# Probes expect refusals while a broker starts; librdkafka must not print each one.
_SILENT = {"log_level": 0}


class KafkaBroker:
    name = "kafka"

    def __init__(self, home: Path, port: int, controller_port: int):
        self.dir = home / "kafka"
        self.port = port
        self.controller_port = controller_port

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / "kafka.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port, self.controller_port)

    @property
    def meta_properties(self) -> Path:
        return self.dir / "data" / "meta.properties"

    def cluster_id(self) -> str | None:
        """The cluster id this home formatted, None before the first `prepare()`."""
        try:
            lines = self.meta_properties.read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            key, _, value = line.partition("=")
            if key.strip() == "cluster.id":
                return value.strip()
        return None

    def prepare(self) -> None:
        libs = artifacts.kafka_libs()
        self.dir.mkdir(parents=True, exist_ok=True)
        props = self.dir / "server.properties"
        props.write_text(self._properties())
        if self.cluster_id() is None:
            cluster_id = "-"
            while cluster_id.startswith("-"):  # a leading "-" would read as an option
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            subprocess.run(
                [
                    artifacts.java(),
                    "-cp",
                    f"{libs}/*",
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(props),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )

    def process(self) -> ProcessSpec:
        libs = artifacts.kafka_libs()
        return ProcessSpec(
            argv=[
                artifacts.java(),
                "-Xms256m",
                "-Xmx768m",
                "-XX:+UseG1GC",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
                "-cp",
                f"{libs}/*",
                "kafka.Kafka",
                str(self.dir / "server.properties"),
            ],
            log=self.log,
        )

    def healthy(self) -> bool:
        conf = {"bootstrap.servers": self.bootstrap_servers}
        return port_open(self.port) and broker_answers(conf)

    def verify(self) -> str | None:
        """None when the broker on our port is the cluster this home formatted, else why not."""
        expected = self.cluster_id()
        if expected is None:
            return f"this home has no formatted cluster ({self.meta_properties} is missing)"
        try:
            actual = reported_cluster_id({"bootstrap.servers": self.bootstrap_servers})
        except KafkaException as exc:
            return f"the broker on port {self.port} did not describe its cluster ({exc})"
        if actual != expected:
            return (
                f"the broker on port {self.port} belongs to cluster {actual!r}, not to "
                f"{expected!r} which this home formatted ({self.meta_properties}): another "
                "stack's broker answers on this home's port"
            )
        return None

    def _properties(self) -> str:
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
                f"log.dirs={self.dir / 'data'}",
                # Single node: internal topics cannot have more than one replica.
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                # Topics come from the catalog (`pipeline topics apply`), not from typos.
                "auto.create.topics.enable=false",
                "num.partitions=3",
                "",
            ]
        )


def broker_answers(conf: dict) -> bool:
    """A quick metadata request: does a broker answer at `conf`'s bootstrap servers?"""
    admin = AdminClient({**conf, **_SILENT})
    try:
        return bool(admin.list_topics(timeout=PROBE_TIMEOUT_S).brokers)
    except KafkaException:
        return False


def reported_cluster_id(conf: dict) -> str | None:
    """The cluster id the broker at `conf`'s bootstrap servers reports (KafkaException if none
    answers within PROBE_TIMEOUT_S)."""
    admin = AdminClient({**conf, **_SILENT})
    future = admin.describe_cluster(request_timeout=PROBE_TIMEOUT_S)
    try:
        return future.result(timeout=PROBE_TIMEOUT_S + 2).cluster_id
    except TimeoutError as exc:
        raise KafkaException(f"no answer within {PROBE_TIMEOUT_S:.0f}s") from exc
