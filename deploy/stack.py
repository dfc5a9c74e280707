"""The local stack: which components run, in what order, and their state on disk.

State lives in one directory (PIPELINE_HOME): `state.json` (ports and pids) and one folder per
component with its data and log. `up` is idempotent: it starts what is not running and restarts
what died. Services the environment points elsewhere (KAFKA_BOOTSTRAP_SERVERS,
SCHEMA_REGISTRY_URL) are used as they are and never started here.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from deploy.runtime import process
from deploy.runtime.kafka import KafkaBroker
from deploy.runtime.ports import free_port
from deploy.runtime.registry import SchemaRegistryServer
from schemas.config import ConnectionSettings, external_services, from_env, paths_from_env
from schemas.errors import PipelineError

STARTUP_TIMEOUT_S = 120
INFRASTRUCTURE = {"kafka", "schema-registry"}


class StartupFailed(PipelineError):
    """A component did not become healthy; the message names its log."""


@dataclass(frozen=True)
class Ports:
    kafka: int = 9092
    kafka_controller: int = 9093
    registry: int = 8081


class Stack:
    def __init__(self, home: Path | None = None, ports: Ports | None = None, external=None):
        self.home = Path(home or paths_from_env().home)
        self._state_file = self.home / "state.json"
        state = self._read_state()
        self.ports = ports or (Ports(**state["ports"]) if "ports" in state else _pick_ports())
        self.external = external_services() if external is None else set(external)
        env_settings = from_env()
        self.kafka = KafkaBroker(self.home, self.ports.kafka, self.ports.kafka_controller)
        self.registry = SchemaRegistryServer(self.home, self.ports.registry)
        self.settings = ConnectionSettings(
            bootstrap_servers=env_settings.bootstrap_servers
            if "kafka" in self.external
            else self.kafka.bootstrap_servers,
            schema_registry_url=env_settings.schema_registry_url
            if "registry" in self.external
            else self.registry.url,
            database_url=env_settings.database_url,
            kafka_extra=env_settings.kafka_extra,
        )

    # -- components -----------------------------------------------------------------------

    def components(self) -> list:
        """Managed components in start order: broker, registry, then each area's processes.

        A component has `name`, `log`, `prepare()`, `process() -> ProcessSpec` and
        `healthy() -> bool`. Areas contribute theirs through `<area>.stack.components(stack)`.
        """
        managed = []
        if "kafka" not in self.external:
            managed.append(self.kafka)
        if "registry" not in self.external:
            managed.append(self.registry)
        for area in _areas():
            managed.extend(area.components(self))
        return managed

    def component(self, name: str):
        for comp in self.components():
            if comp.name == name:
                return comp
        raise KeyError(f"no managed component {name!r}")

    # -- lifecycle --------------------------------------------------------------------------

    def up(self, only: set[str] | None = None) -> dict[str, str]:
        """Start every component (or those named in `only`) that is not running.

        Returns {name: "started" | "running"}.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        self._write_state(ports=asdict(self.ports))
        outcome = {}
        for comp in self.components():
            if only is not None and comp.name not in only:
                continue
            pid = self.pid(comp.name)
            if process.alive(pid) and comp.healthy():
                outcome[comp.name] = "running"
                continue
            if process.alive(pid):
                # Started but not healthy yet (e.g. a concurrent `up`): wait rather than respawn.
                self._wait_healthy(comp, pid)
                outcome[comp.name] = "running"
                continue
            self.start(comp.name)
            outcome[comp.name] = "started"
        return outcome

    def start(self, name: str) -> int:
        comp = self.component(name)
        comp.prepare()
        pid = process.spawn(comp.process())
        self._set_pid(name, pid)
        self._wait_healthy(comp, pid)
        return pid

    def stop(self, name: str) -> None:
        process.stop(self.pid(name))
        self._set_pid(name, None)

    def kill(self, name: str) -> None:
        """kill -9 a component (reliability tests)."""
        process.kill9(self.pid(name))

    def down(self) -> None:
        for comp in reversed(self.components()):
            self.stop(comp.name)

    # -- inspection -------------------------------------------------------------------------

    def area_ports(self, area: str, wanted: dict[str, int]) -> dict[str, int]:
        """Ports for an area's services, picked once and kept in `<home>/<area>/ports.json`
        so that `status` and a restarted stack find the same ones. `wanted` maps each name to
        its well-known port, used only by the default stack (test stacks run side by side)."""
        path = self.home / area / "ports.json"
        try:
            ports = json.loads(path.read_text())
        except (OSError, ValueError):
            ports = {}
        missing = [name for name in wanted if name not in ports]
        if missing:
            default_stack = self.ports == Ports()
            for name in missing:
                ports[name] = free_port(wanted[name] if default_stack else None)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(ports, indent=2))
        return ports

    def pid(self, name: str) -> int | None:
        return self._read_state().get("pids", {}).get(name)

    def status(self) -> dict:
        components = {}
        for comp in self.components():
            pid = self.pid(comp.name)
            running = process.alive(pid)
            components[comp.name] = {
                "healthy": running and comp.healthy(),
                "pid": pid if running else None,
            }
        report = {
            "home": str(self.home),
            "kafka": {"bootstrap_servers": self.settings.bootstrap_servers},
            "schema_registry": {"url": self.settings.schema_registry_url},
        }
        for area in _areas():
            report.update(area.status(self))
        report["components"] = components
        return report

    # -- state file -------------------------------------------------------------------------

    def _wait_healthy(self, comp, pid: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not process.alive(pid):
                raise StartupFailed(
                    f"{comp.name} exited during startup; see its log: {comp.log}\n"
                    + _tail(comp.log)
                )
            if comp.healthy():
                return
            time.sleep(0.3)
        raise StartupFailed(
            f"{comp.name} did not become healthy within {STARTUP_TIMEOUT_S}s; "
            f"see its log: {comp.log}\n" + _tail(comp.log)
        )

    def _read_state(self) -> dict:
        try:
            return json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _write_state(self, **updates) -> None:
        state = self._read_state()
        state.update(updates)
        self.home.mkdir(parents=True, exist_ok=True)
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self._state_file)

    def _set_pid(self, name: str, pid: int | None) -> None:
        pids = self._read_state().get("pids", {})
        if pid is None:
            pids.pop(name, None)
        else:
            pids[name] = pid
        self._write_state(pids=pids)


def _pick_ports() -> Ports:
    """A new home's ports: the well-known ones when free, else free ones (kept in state.json
    by `up`), so a second stack starts beside a running one instead of colliding with it."""
    wanted = Ports()
    return Ports(
        kafka=free_port(wanted.kafka),
        kafka_controller=free_port(wanted.kafka_controller),
        registry=free_port(wanted.registry),
    )


# The product's areas; each may provide `<area>/stack.py` with `components(stack)` and
# `status(stack)`, which start what the project declares (its relay and web app, workers,
# stream apps).
AREAS = ("producer_django", "producer_django.tasks", "streams", "consumers", "consumers.replay")


def _areas():
    modules = []
    for area in AREAS:
        name = f"{area}.stack"
        if importlib.util.find_spec(area) is not None and importlib.util.find_spec(name):
            modules.append(importlib.import_module(name))
    return modules


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"
