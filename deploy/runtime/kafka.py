"""A single-node KRaft Kafka broker run with the machine's Java."""

from __future__ import annotations

import base64
import logging
import socket
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from deploy.runtime import artifacts
from deploy.runtime.process import ProcessSpec

LOG4J_CONFIG = Path(__file__).parent.parent / "kafka" / "log4j2.properties"
_quiet = logging.getLogger("deploy.runtime.kafka.probe")


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

    def prepare(self) -> None:
        libs = artifacts.kafka_libs()
        self.dir.mkdir(parents=True, exist_ok=True)
        props = self.dir / "server.properties"
        props.write_text(self._properties())
        if not (self.dir / "data" / "meta.properties").exists():
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
        if not _port_open(self.port):
            return False
        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers, "logger": _quiet})
        try:
            return bool(admin.list_topics(timeout=3).brokers)
        except KafkaException:
            return False

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


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
