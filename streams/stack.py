"""The streams' part of the local stack: one faust worker process per declared app
(`streams-<name>`, see [tool.event-pipeline.streams]).

Web ports are picked once per PIPELINE_HOME and kept in the stack's state
(`Stack.area_ports`), so `status` and a restarted stack find the same ones. Each worker keeps
its table state in `<home>/streams/<app>/data`.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from deploy.runtime.process import ProcessSpec
from schemas import project
from streams import worker

WEB_HOST = "127.0.0.1"
PREFERRED_WEB_PORT = 6066


def components(stack) -> list:
    ports = _ports(stack)
    return [StreamWorker(stack, app, ports[app]) for app in project.current().streams]


def status(stack) -> dict:
    ports = _ports(stack)
    apps = {
        name: {"app_id": spec.app_id, "url": f"http://{WEB_HOST}:{ports[name]}"}
        for name, spec in project.current().streams.items()
    }
    main = query_app()
    return {"streams": {"url": apps[main]["url"] if main else None, "apps": apps}}


def query_app() -> str | None:
    """The app behind `streams.url` and `pipeline streams VIEW KEY`: the first declared app that
    names a `table`, else the first app."""
    declared = project.current().streams
    return next((n for n, s in declared.items() if s.table), next(iter(declared), None))


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

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.web_port,)

    def prepare(self) -> None:
        (self.dir / "data").mkdir(parents=True, exist_ok=True)

    def process(self) -> ProcessSpec:
        env = {
            **self.stack.child_env(),
            **worker.env(self.app),
            "STREAMS_WEB_HOST": WEB_HOST,
            "STREAMS_WEB_PORT": str(self.web_port),
            "STREAMS_DATA_DIR": str(self.dir / "data"),
            # The topics faust creates get the catalog's rule: min(3, brokers).
            "STREAMS_REPLICATION_FACTOR": str(self.stack.shape.replication_factor),
        }
        return ProcessSpec(
            argv=worker.declared_argv(self.app),
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


def _ports(stack) -> dict[str, int]:
    apps = project.current().streams
    return stack.area_ports(
        "streams", {app: PREFERRED_WEB_PORT + i for i, app in enumerate(apps)}
    )
