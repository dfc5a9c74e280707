"""The lineage indexer in the local stack: component `lineage` (`pipeline lineage run`).

Its metrics port is picked once per PIPELINE_HOME and kept in the stack's state
(`Stack.area_ports`); `status --json` gives `lineage.groups` and `lineage.metrics_url`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from consumers.lineage.indexer import EFFECTS_GROUP, GROUP
from consumers.lineage.metrics import indexer_ready
from deploy.runtime.process import ProcessSpec

NAME = "lineage"
PREFERRED_METRICS_PORT = 9440


def components(stack) -> list:
    return [LineageComponent(stack, _port(stack))]


def status(stack) -> dict:
    return {
        NAME: {
            "groups": [GROUP, EFFECTS_GROUP],
            "metrics_url": f"http://127.0.0.1:{_port(stack)}/metrics",
        }
    }


class LineageComponent:
    name = NAME

    def __init__(self, stack, metrics_port: int):
        self.stack = stack
        self.metrics_port = metrics_port
        self.dir = Path(stack.home) / NAME

    @property
    def log(self) -> Path:
        return self.dir / "lineage.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.metrics_port,)

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def process(self) -> ProcessSpec:
        return ProcessSpec(
            argv=[sys.executable, "-m", "deploy.cli", "lineage", "run",
                  "--metrics-port", str(self.metrics_port), "--instance-id", f"{NAME}-1"],
            log=self.log,
            env=self.stack.child_env(),
        )

    def healthy(self) -> bool:
        return indexer_ready(self.metrics_port)


def _port(stack) -> int:
    return stack.area_ports(NAME, {NAME: PREFERRED_METRICS_PORT})[NAME]
