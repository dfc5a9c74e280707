"""The local Kafka as a whole: its nodes, its shared cluster id, and in secure mode its
certificates and the admin credentials the stack itself uses.

    cluster = KafkaCluster(home, ClusterShape(brokers=3, secure=True), node_ports)
    cluster.nodes                 # KafkaNode components kafka-1..3, started by deploy.stack
    cluster.bootstrap_servers     # every node's client address
    cluster.admin_conf()          # librdkafka keys of the stack's own (admin) connections
"""

from __future__ import annotations

from pathlib import Path

from deploy.runtime import kafka
from deploy.runtime.kafka import ClusterShape, KafkaNode, NodePorts
from schemas.config import scram_conf


class KafkaCluster:
    admin_user = "admin"

    def __init__(self, home: Path, shape: ClusterShape, node_ports: list[NodePorts]):
        if len(node_ports) != shape.brokers:
            raise ValueError(f"{shape.brokers} nodes need as many port sets, got {len(node_ports)}")
        self.home = Path(home)
        self.shape = shape
        self.nodes = [KafkaNode(self, i + 1, ports) for i, ports in enumerate(node_ports)]

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.address for node in self.nodes)

    @property
    def security_dir(self) -> Path:
        return self.home / "security"

    @property
    def tls_files(self):
        from deploy.security.tls import TlsFiles

        return TlsFiles(self.security_dir)

    @property
    def credentials_file(self) -> Path:
        return self.security_dir / "credentials.json"

    @property
    def _cluster_id_file(self) -> Path:
        return self.home / "kafka-cluster-id"

    # -- identity ---------------------------------------------------------------------------

    def cluster_id(self) -> str | None:
        """The id the nodes were (or will be) formatted with; None before the first start."""
        for node in self.nodes:
            found = node.cluster_id()
            if found:
                return found
        try:
            return self._cluster_id_file.read_text().strip() or None
        except OSError:
            return None

    def ensure_cluster_id(self) -> str:
        """One id for every node: picked before the first node is formatted, then kept."""
        found = self.cluster_id()
        if found is None:
            found = kafka.new_cluster_id()
            self.home.mkdir(parents=True, exist_ok=True)
            self._cluster_id_file.write_text(found)
        return found

    def formatted(self) -> bool:
        return any(node.cluster_id() for node in self.nodes)

    def quorum_voters(self) -> str:
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)

    # -- security ---------------------------------------------------------------------------

    def prepare_security(self) -> None:
        """Secure mode: the CA, the broker certificate and the admin password, made once."""
        if not self.shape.secure:
            return
        from deploy.security import credentials, tls

        tls.ensure(self.tls_files)
        credentials.ensure(self.credentials_file, [self.admin_user])

    def format_scram_arguments(self) -> list[str]:
        """`--add-scram` values for formatting a node: the admin user, which creates the rest."""
        if not self.shape.secure:
            return []
        from deploy.security import credentials

        password = credentials.ensure(self.credentials_file, [self.admin_user])[self.admin_user]
        return [credentials.format_argument(self.admin_user, password)]

    def client_conf(self, user: str) -> dict[str, str]:
        """librdkafka security keys of `user` (empty for a plaintext cluster)."""
        if not self.shape.secure:
            return {}
        from deploy.security import credentials

        password = credentials.load(self.credentials_file).get(user)
        if password is None:
            return {}
        return scram_conf(user, password, str(self.tls_files.ca_cert))

    def admin_conf(self, bootstrap_servers: str | None = None) -> dict[str, str]:
        return {
            "bootstrap.servers": bootstrap_servers or self.bootstrap_servers,
            **self.client_conf(self.admin_user),
        }

    # -- health -----------------------------------------------------------------------------

    def under_replicated(self) -> int:
        """Partitions with fewer in-sync replicas than replicas (-1: no node answers)."""
        return kafka.under_replicated(self.admin_conf())


def local_replication_factor(bootstrap_servers: str, home: Path | None = None) -> int | None:
    """The replication factor of the local stack of `home` (PIPELINE_HOME) when
    `bootstrap_servers` point at it, else None (another cluster: the catalog decides)."""
    import json

    from schemas.config import paths_from_env

    state_file = Path(home or paths_from_env().home) / "state.json"
    try:
        state = json.loads(state_file.read_text())
        shape = ClusterShape(**state["cluster"])
        clients = {f"127.0.0.1:{n['client']}" for n in state["kafka_nodes"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    given = {address.strip() for address in bootstrap_servers.split(",")}
    return shape.replication_factor if given & clients else None
