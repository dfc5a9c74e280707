"""Apicurio Registry 3.x with the Confluent-compatible API, schemas persisted in an H2 file.

Its identity is its storage. The H2 file path is not visible over HTTP, so the home marks the
storage itself: a random storage id kept in `<home>/registry/storage-id` and, inside the
registry, as the content of one artifact in a group of its own (Apicurio's native API; the
Confluent-compatible API lists only the default group, so no subject appears). `verify()` reads
it back: a registry that answers on our port without our id is someone else's.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx

from deploy.runtime import artifacts
from deploy.runtime.process import ProcessSpec

CCOMPAT_PATH = "/apis/ccompat/v7"
MARKER_GROUP = "event-pipeline.stack"
MARKER_ARTIFACT = "storage-id"
PROBE_TIMEOUT_S = 3.0


class SchemaRegistryServer:
    name = "schema-registry"

    def __init__(self, home: Path, port: int):
        self.dir = home / "registry"
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + CCOMPAT_PATH

    @property
    def log(self) -> Path:
        return self.dir / "registry.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port,)

    @property
    def storage_id_file(self) -> Path:
        return self.dir / "storage-id"

    def storage_id(self) -> str | None:
        try:
            return self.storage_id_file.read_text().strip() or None
        except OSError:
            return None

    def prepare(self) -> None:
        artifacts.registry_jar()
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.storage_id() is None or not self._has_storage():
            # A fresh storage (or one from before storage ids) gets a new id; `claim()` writes it
            # into the registry once the process this home started answers.
            self.storage_id_file.write_text(uuid.uuid4().hex)

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

    def claim(self) -> None:
        """Write this home's storage id into the registry unless it holds one already. The
        stack calls it only for the process it started (its pid alive, its port free before)."""
        expected = self.storage_id()
        if expected is None or self._marker() is not None:
            return
        body = {
            "artifactId": MARKER_ARTIFACT,
            "artifactType": "JSON",
            "firstVersion": {
                "content": {
                    "content": json.dumps({"storage_id": expected}),
                    "contentType": "application/json",
                }
            },
        }
        try:
            # 409: a concurrent claim won; `verify()` then tells whose it was.
            httpx.post(self._artifacts_url(), json=body, timeout=PROBE_TIMEOUT_S)
        except httpx.HTTPError:
            pass  # `verify()` reports the registry as not answering

    def verify(self) -> str | None:
        """None when the registry on our port holds this home's storage, else why not."""
        expected = self.storage_id()
        if expected is None:
            return f"this home has no registry storage id ({self.storage_id_file} is missing)"
        try:
            found = self._marker()
        except httpx.HTTPError as exc:
            return f"the registry on port {self.port} did not answer ({type(exc).__name__})"
        if found != expected:
            return (
                f"the registry on port {self.port} does not hold this home's storage (storage id "
                f"{found!r}, expected {expected!r} from {self.storage_id_file}): another "
                "registry answers on this home's port"
            )
        return None

    def _has_storage(self) -> bool:
        return any(self.dir.glob("db.*"))

    def _artifacts_url(self) -> str:
        return f"{self.base_url}/apis/registry/v3/groups/{MARKER_GROUP}/artifacts"

    def _marker(self) -> str | None:
        """The storage id written into the registry, None when it holds none."""
        url = f"{self._artifacts_url()}/{MARKER_ARTIFACT}/versions/branch=latest/content"
        response = httpx.get(url, timeout=PROBE_TIMEOUT_S)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        try:
            return str(json.loads(response.text)["storage_id"])
        except (ValueError, KeyError, TypeError):
            return None
