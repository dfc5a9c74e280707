"""`pipeline up` plug-in: the operations console (component `console`).

`status --json` gives `console.url` and the local dev operator's `console.username` /
`console.password` (made on first start, kept 0600 in `<home>/console`). The console gets the
project's database as the stack's Django processes do (DATABASE_URL, else the home's SQLite
file) and reads Kafka and the registry from the stack's state.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from deploy.console.home import ConsoleHome
from deploy.runtime.process import ProcessSpec
from schemas import project as projects
from schemas.config import LocalPaths, database_url

HOST = "127.0.0.1"
PREFERRED_PORT = 8089


def components(stack) -> list:
    return [ConsoleComponent(stack, _port(stack))]


def status(stack) -> dict:
    component = ConsoleComponent(stack, _port(stack))
    credentials = component.home.credentials() or {}
    return {
        "console": {
            "url": component.url,
            "username": credentials.get("username"),
            "password": credentials.get("password"),
        }
    }


class ConsoleComponent:
    name = "console"

    def __init__(self, stack, port: int):
        self.stack = stack
        self.port = port
        self.home = ConsoleHome.of(stack.home)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def log(self) -> Path:
        return self.home.log

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port,)

    def prepare(self) -> None:
        self.home.dir.mkdir(parents=True, exist_ok=True)
        self.home.new_credentials()

    def process(self) -> ProcessSpec:
        home = str(self.stack.home)
        env = {
            **projects.current().env(),
            "PYTHONUNBUFFERED": "1",
            "PIPELINE_HOME": home,
            "DATABASE_URL": database_url(self.stack.settings, LocalPaths(home=home, cache="")),
        }
        return ProcessSpec(
            argv=[sys.executable, "-m", "deploy.console.server", "--host", HOST,
                  "--port", str(self.port)],
            log=self.log,
            env=env,
        )

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


def _port(stack) -> int:
    return stack.area_ports("console", {"web": PREFERRED_PORT})["web"]
