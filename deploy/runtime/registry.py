"""Apicurio Registry 3.x with the Confluent-compatible API, schemas persisted in an H2 file."""

from __future__ import annotations

from pathlib import Path

import httpx

from deploy.runtime import artifacts
from deploy.runtime.process import ProcessSpec

CCOMPAT_PATH = "/apis/ccompat/v7"


class SchemaRegistryServer:
    name = "schema-registry"

    def __init__(self, home: Path, port: int):
        self.dir = home / "registry"
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{CCOMPAT_PATH}"

    @property
    def log(self) -> Path:
        return self.dir / "registry.log"

    def prepare(self) -> None:
        artifacts.registry_jar()
        self.dir.mkdir(parents=True, exist_ok=True)

    def process(self) -> ProcessSpec:
        return ProcessSpec(
            argv=[artifacts.java(), "-Xms128m", "-Xmx512m", "-jar", str(artifacts.registry_jar())],
            log=self.log,
            env={
                # SQL storage in an H2 file: schemas survive a restart of the registry.
                "APICURIO_STORAGE_KIND": "sql",
                "APICURIO_STORAGE_SQL_KIND": "h2",
                "APICURIO_DATASOURCE_URL": f"jdbc:h2:file:{self.dir / 'db'}",
                "QUARKUS_HTTP_HOST": "127.0.0.1",
                "QUARKUS_HTTP_PORT": str(self.port),
            },
            cwd=self.dir,
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/subjects", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
