"""KRaft Kafka nodes run with the machine's Java: one node, or a cluster of several.

Every node is a combined broker and controller; the controllers form a static quorum of all
nodes (`controller.quorum.voters`). A cluster of one keeps the names of the single-broker stack
(component `kafka`, folder `<home>/kafka`); a larger one names its nodes `kafka-1..N`
(`<home>/kafka-N`), each with its own formatted log dir and all with one cluster id.

Identity: the cluster id this home formatted (`data/meta.properties`). `verify()` compares it
with the id the node on the port reports, so a stack never mistakes another stack's broker, or
any other service on its port, for its own.

Secure mode (`ClusterShape.secure`): clients only on a SASL_SSL listener (SCRAM-SHA-512); the
brokers talk to each other and to the controllers over TLS with client certificates (listeners
INTERNAL and CONTROLLER, mutual TLS with the home's broker certificate, principal
`User:<tls.BROKER_CN>`); StandardAuthorizer, nothing allowed without an ACL. The `admin` SCRAM
user is created at format time (`--add-scram`); the other users and ACLs are applied through
the Admin API once the cluster answers (`deploy.security.apply`).
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from dataclasses import dataclass
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
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class ClusterShape:
    """How the local Kafka runs: how many nodes, and whether clients must authenticate."""

    brokers: int = 1
    secure: bool = False

    @property
    def replication_factor(self) -> int:
        return min(3, self.brokers)

    @property
    def min_insync_replicas(self) -> int:
        return 2 if self.replication_factor >= 3 else 1

    def node_name(self, node_id: int) -> str:
        return "kafka" if self.brokers == 1 else f"kafka-{node_id}"


@dataclass(frozen=True)
class NodePorts:
    client: int
    controller: int
    internal: int | None = None  # secure mode: the brokers' own TLS listener


class KafkaNode:
    """One KRaft node (broker + controller) of `cluster` (a deploy.runtime.cluster.KafkaCluster)."""

    def __init__(self, cluster, node_id: int, ports: NodePorts):
        self.cluster = cluster
        self.node_id = node_id
        self.node_ports = ports
        self.name = cluster.shape.node_name(node_id)
        self.dir = Path(cluster.home) / self.name

    @property
    def port(self) -> int:
        return self.node_ports.client

    @property
    def controller_port(self) -> int:
        return self.node_ports.controller

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.dir / "kafka.log"

    @property
    def ports(self) -> tuple[int, ...]:
        p = self.node_ports
        return tuple(x for x in (p.client, p.controller, p.internal) if x is not None)

    @property
    def meta_properties(self) -> Path:
        return self.dir / "data" / "meta.properties"

    def cluster_id(self) -> str | None:
        """The cluster id this node's log dir was formatted with, None before `prepare()`."""
        return read_cluster_id(self.meta_properties)

    def prepare(self) -> None:
        libs = artifacts.kafka_libs()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cluster.prepare_security()
        props = self.dir / "server.properties"
        props.write_text(self._properties())
        if self.cluster_id() is not None:
            return
        argv = [artifacts.java(), "-cp", f"{libs}/*", "kafka.tools.StorageTool", "format",
                "-t", self.cluster.ensure_cluster_id(), "-c", str(props)]
        for scram in self.cluster.format_scram_arguments():
            argv += ["--add-scram", scram]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

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

    def answers(self) -> bool:
        """This node (not just any node of the cluster) answers a metadata request."""
        conf = self.cluster.admin_conf(bootstrap_servers=self.address)
        return port_open(self.port) and broker_answers(conf)

    def healthy(self) -> bool:
        """Answers, and (with several nodes) is in the ISR of every partition it replicates:
        caught up. A node restarted while another is down is healthy once it has caught up;
        the cluster's under-replicated partitions are reported by `status` apart."""
        if not self.answers():
            return False
        return self.cluster.shape.brokers == 1 or lagging(
            self.cluster.admin_conf(), self.node_id) == 0

    def verify(self) -> str | None:
        """None when the node on our port is of the cluster this home formatted, else why not."""
        expected = self.cluster_id()
        if expected is None:
            return f"this home has no formatted cluster ({self.meta_properties} is missing)"
        try:
            actual = reported_cluster_id(self.cluster.admin_conf(bootstrap_servers=self.address))
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
        shape = self.cluster.shape
        p = self.node_ports
        rf, isr = shape.replication_factor, shape.min_insync_replicas
        lines = [
            "process.roles=broker,controller",
            f"node.id={self.node_id}",
            f"controller.quorum.voters={self.cluster.quorum_voters()}",
            "controller.listener.names=CONTROLLER",
            f"log.dirs={self.dir / 'data'}",
            # Internal topics get the cluster's replication; catalog topics get theirs from
            # `pipeline topics apply` (deploy.topics), other topics keep what their creator asks.
            f"offsets.topic.replication.factor={rf}",
            f"transaction.state.log.replication.factor={rf}",
            f"transaction.state.log.min.isr={isr}",
            f"share.coordinator.state.topic.replication.factor={rf}",
            f"share.coordinator.state.topic.min.isr={isr}",
            f"default.replication.factor={rf}",
            "group.initial.rebalance.delay.ms=0",
            # Topics come from the catalog (`pipeline topics apply`), not from typos.
            "auto.create.topics.enable=false",
            "num.partitions=3",
        ]
        if not shape.secure:
            lines += [
                f"listeners=PLAINTEXT://127.0.0.1:{p.client},CONTROLLER://127.0.0.1:{p.controller}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{p.client}",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name=PLAINTEXT",
            ]
        else:
            lines += self._secure_properties()
        return "\n".join(lines + [""])

    def _secure_properties(self) -> list[str]:
        from deploy.security import tls

        p = self.node_ports
        files = self.cluster.tls_files
        return [
            f"listeners=CLIENT://127.0.0.1:{p.client},INTERNAL://127.0.0.1:{p.internal},"
            f"CONTROLLER://127.0.0.1:{p.controller}",
            f"advertised.listeners=CLIENT://127.0.0.1:{p.client},INTERNAL://127.0.0.1:{p.internal}",
            "listener.security.protocol.map=CLIENT:SASL_SSL,INTERNAL:SSL,CONTROLLER:SSL",
            "inter.broker.listener.name=INTERNAL",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "listener.name.client.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={files.broker_pem}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={files.ca_cert}",
            # Brokers and controllers prove themselves with the home's certificate.
            "listener.name.internal.ssl.client.auth=required",
            "listener.name.controller.ssl.client.auth=required",
            "ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9.-]+)$/$1/,DEFAULT",
            f"authorizer.class.name={AUTHORIZER}",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{tls.BROKER_CN};User:{self.cluster.admin_user}",
        ]


def read_cluster_id(meta_properties: Path) -> str | None:
    try:
        lines = meta_properties.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "cluster.id":
            return value.strip()
    return None


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    cluster_id = "-"
    while cluster_id.startswith("-"):  # a leading "-" would read as an option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    return cluster_id


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


def under_replicated(conf: dict) -> int:
    """Partitions whose in-sync replicas are fewer than their replicas (-1: no answer)."""
    return _count_partitions(conf, lambda part: len(part.isrs) < len(part.replicas))


def lagging(conf: dict, node_id: int) -> int:
    """Partitions that have `node_id` as a replica but not in their ISR (-1: no answer)."""
    return _count_partitions(
        conf, lambda part: node_id in part.replicas and node_id not in part.isrs)


def _count_partitions(conf: dict, matches) -> int:
    """How many partitions of the cluster's metadata satisfy `matches` (-1: no answer)."""
    admin = AdminClient({**conf, **_SILENT})
    try:
        metadata = admin.list_topics(timeout=PROBE_TIMEOUT_S)
    except KafkaException:
        return -1
    return sum(1 for topic in metadata.topics.values()
               for part in topic.partitions.values() if matches(part))


class KafkaBroker(KafkaNode):
    """The single plaintext broker of a home (the shape before clusters), kept for callers that
    build one from its two ports."""

    def __init__(self, home: Path, port: int, controller_port: int):
        from deploy.runtime.cluster import KafkaCluster

        cluster = KafkaCluster(Path(home), ClusterShape(), [NodePorts(port, controller_port)])
        super().__init__(cluster, 1, NodePorts(port, controller_port))

    @property
    def bootstrap_servers(self) -> str:
        return self.address
