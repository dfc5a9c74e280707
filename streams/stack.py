"""The streams' part of the local stack: one faust worker process per app (`streams-<app>`).

Web ports are picked once per PIPELINE_HOME and kept in `<home>/streams/ports.json`, so
`status` and a restarted stack find the same ones. Each worker keeps its table state in
`<home>/streams/<app>/data`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from deploy.runtime.process import ProcessSpec
from schemas import project

WEB_HOST = "127.0.0.1"
PREFERRED_WEB_PORT = 6066


def components(stack) -> list:
    ports = _ports(stack)
    return [StreamWorker(stack, app, ports[app]) for app in project.current().streams]


def status(stack) -> dict:
    ports = _ports(stack)
    apps = {
        app: {"app_id": f"streams-{app}", "url": f"http://{WEB_HOST}:{ports[app]}"}
        for app in project.current().streams
    }
    # `streams.url`: the first app that declares a table (the one answering queries), else
    # the first app.
    declared = project.current().streams
    main = next((n for n, s in declared.items() if s.table), next(iter(declared), None))
    return {"streams": {"url": apps[main]["url"] if main else None, "apps": apps}}


class StreamWorker:
    def __init__(self, stack, app: str, web_port: int):
        self.name = f"streams-{app}"
        self.app = app
        self.stack = stack
        self.web_port = web_port
        self.dir = Path(stack.home) / "streams" / app

    @property
    def log(self) -> Path:
        return self.dir / "worker.log"

    @property
    def url(self) -> str:
        return f"http://{WEB_HOST}:{self.web_port}"

    def prepare(self) -> None:
        (self.dir / "data").mkdir(parents=True, exist_ok=True)

    def process(self) -> ProcessSpec:
        settings = self.stack.settings
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
            "STREAMS_WEB_HOST": WEB_HOST,
            "STREAMS_WEB_PORT": str(self.web_port),
            "STREAMS_DATA_DIR": str(self.dir / "data"),
        }
        return ProcessSpec(
            argv=worker_argv(self.app),
            log=self.log,
            env=env,
            cwd=self.dir,
        )

    def healthy(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/health", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200


def worker_argv(app: str) -> list[str]:
    """`faust -A <the declared app> worker`, with this interpreter."""
    from schemas import project

    spec = project.current().stream(app)
    return [sys.executable, "-m", "faust", "-A", spec.app, "worker", "--loglevel", "info"]


def _ports(stack) -> dict[str, int]:
    apps = project.current().streams
    return stack.area_ports(
        "streams", {app: PREFERRED_WEB_PORT + i for i, app in enumerate(apps)}
    )
