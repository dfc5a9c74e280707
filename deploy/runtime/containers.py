"""Kafka and the registry in Docker via testcontainers, used where a Docker engine is reachable."""

from __future__ import annotations

import shutil
import subprocess

from deploy.runtime.artifacts import APICURIO_VERSION, KAFKA_VERSION
from deploy.runtime.registry import CCOMPAT_PATH


def docker_engine_reachable() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class ContainerStack:
    """Starts `apache/kafka` and `apicurio/apicurio-registry` containers; `stop()` removes them."""

    def __init__(self):
        from testcontainers.core.container import DockerContainer
        from testcontainers.kafka import KafkaContainer

        self.kafka = KafkaContainer(f"apache/kafka:{KAFKA_VERSION}").with_kraft()
        self.registry = DockerContainer(f"apicurio/apicurio-registry:{APICURIO_VERSION}")
        self.registry.with_exposed_ports(8080)

    def start(self) -> tuple[str, str]:
        from testcontainers.core.waiting_utils import wait_for_logs

        self.kafka.start()
        self.registry.start()
        wait_for_logs(self.registry, "Installed features", timeout=120)
        host = self.registry.get_container_host_ip()
        port = self.registry.get_exposed_port(8080)
        return self.kafka.get_bootstrap_server(), f"http://{host}:{port}{CCOMPAT_PATH}"

    def stop(self) -> None:
        self.registry.stop()
        self.kafka.stop()
