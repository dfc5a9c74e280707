"""The local stack: which components run, in what order, and their state on disk.

State lives in one directory (PIPELINE_HOME): `state.json` (the broker's and registry's ports,
every area's ports, pids) and one folder per component with its data and log. `up` is idempotent:
it starts what is not running and restarts what died. Services the environment points elsewhere
(KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL) are used as they are and never started here.

Isolation: a new home takes the well-known ports when they are free, else free ones, and keeps
them. Before a component starts, its ports must be free; once it answers, it must be the one this
home started (`verify()`: the broker's cluster id, the registry's storage id), else `up` stops
with StartupFailed before anything is applied. `up` and `down` hold a lock in the home, so two
of them on one home run one after the other.

Shape: Kafka runs as one node (component `kafka`) or several (`kafka-1..N`, `up --brokers N`),
in plaintext or secure (`up --secure`: SASL_SSL + SCRAM, ACLs from deploy/roles.toml, each
component started with its own principal's client settings as KAFKA_CONF_* variables). The
shape is kept in state.json (`cluster`); a home formatted with one shape refuses another.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import signal
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from deploy.runtime import process
from deploy.runtime.cluster import KafkaCluster
from deploy.runtime.feedback import Feedback, silent
from deploy.runtime.kafka import ClusterShape, KafkaNode, NodePorts, broker_answers
from deploy.runtime.lock import HomeLock
from deploy.runtime.ports import free_port, port_open
from deploy.runtime.registry import SchemaRegistryServer
from schemas.config import (
    ConnectionSettings,
    conf_env,
    external_services,
    from_env,
    paths_from_env,
)
from schemas.errors import PipelineError, ServiceUnavailable

STARTUP_TIMEOUT_S = 120
# How long a port of this home may stay open after its component died (process exiting).
PORT_RELEASE_WAIT_S = 15.0


class _Infrastructure(frozenset):
    """The broker and the registry; "kafka" stands for every node (`kafka`, `kafka-1..N`)."""

    def __contains__(self, name) -> bool:
        return frozenset.__contains__(self, name) or is_kafka_node(name)


INFRASTRUCTURE = _Infrastructure({"kafka", "schema-registry"})


def is_kafka_node(name: str) -> bool:
    return name == "kafka" or (name.startswith("kafka-") and name[len("kafka-"):].isdigit())


class StartupFailed(PipelineError):
    """A component did not start, died, or is not this home's; the message names its log and
    port."""


@dataclass(frozen=True)
class Ports:
    kafka: int = 9092
    kafka_controller: int = 9093
    registry: int = 8081


class ShapeChanged(StartupFailed):
    """`up --brokers/--secure` asks for another shape than the home's cluster was formatted
    with."""


class Stack:
    def __init__(self, home: Path | None = None, ports: Ports | None = None, external=None,
                 shape: ClusterShape | None = None):
        self.home = Path(home or paths_from_env().home)
        self._state_file = self.home / "state.json"
        self._lock = HomeLock(self.home / "stack.lock")
        state = self._read_state()
        self.ports = ports or (Ports(**state["ports"]) if "ports" in state else _pick_ports())
        self.external = external_services() if external is None else set(external)
        self.recorded_shape = ClusterShape(**state["cluster"]) if "cluster" in state else None
        self.shape = shape or self.recorded_shape or ClusterShape()
        self.cluster = KafkaCluster(self.home, self.shape, self._node_ports(state))
        self.kafka: KafkaNode = self.cluster.nodes[0]
        self.registry = SchemaRegistryServer(self.home, self.ports.registry)

    @property
    def settings(self) -> ConnectionSettings:
        """The stack's connections; read afresh, since a secure home's admin password exists
        only once its first node was prepared."""
        env_settings = from_env()
        local_kafka = "kafka" not in self.external
        return ConnectionSettings(
            bootstrap_servers=self.cluster.bootstrap_servers
            if local_kafka
            else env_settings.bootstrap_servers,
            schema_registry_url=env_settings.schema_registry_url
            if "registry" in self.external
            else self.registry.url,
            database_url=env_settings.database_url,
            # The stack's own connections (topics, schemas, status) are the admin's.
            kafka_extra={**env_settings.kafka_extra,
                         **(self.cluster.client_conf(self.cluster.admin_user)
                            if local_kafka else {})},
            registry_extra=env_settings.registry_extra,
        )

    def _node_ports(self, state: dict) -> list[NodePorts]:
        """Node 1 on `ports.kafka`/`kafka_controller`; the other ports as recorded by `up`,
        else free ones (recorded by the next `up`)."""
        recorded = state.get("kafka_nodes") or []
        nodes = []
        for index in range(self.shape.brokers):
            seen = recorded[index] if index < len(recorded) else {}
            client = self.ports.kafka if index == 0 else seen.get("client") or free_port()
            controller = (
                self.ports.kafka_controller if index == 0
                else seen.get("controller") or free_port()
            )
            internal = (seen.get("internal") or free_port()) if self.shape.secure else None
            nodes.append(NodePorts(client, controller, internal))
        return nodes

    # -- components -----------------------------------------------------------------------

    def components(self) -> list:
        """Managed components in start order: broker, registry, then each area's processes.

        A component has `name`, `log`, `prepare()`, `process() -> ProcessSpec` and
        `healthy() -> bool`; optionally `ports` (must be free before it starts), `uses_kafka`
        (False: a secure stack starts it without Kafka credentials), `verify() -> str | None`
        (why the service answering is not this home's) and `claim()` (mark a service this home
        just started as its own). Areas contribute theirs through `<area>.stack.components(stack)`.
        """
        managed = []
        if "kafka" not in self.external:
            managed.extend(self.cluster.nodes)
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

    def locked(self, feedback: Feedback = silent) -> AbstractContextManager:
        """Hold the home's lock (re-entrant); says once on `feedback` when it must wait."""
        return self._lock.held(
            on_wait=lambda holder: feedback(
                "stack", "waiting", f"for another `pipeline up` or `down` (pid {holder or '?'})"
            )
        )

    def up(self, only: set[str] | None = None, feedback: Feedback = silent) -> dict[str, str]:
        """Start every component (or those named in `only`) that is not running, each checked
        to be this home's. Returns {name: "started" | "running"}."""
        with self.locked(feedback):
            self._record_shape()
            outcome = self._up_kafka(only, feedback)
            for comp in self.components():
                if is_kafka_node(comp.name) or (only is not None and comp.name not in only):
                    continue
                pid = self.pid(comp.name)
                if process.alive(pid):
                    # Healthy, or started by a concurrent caller: wait rather than respawn.
                    self._wait_healthy(comp, pid)
                    self._check_identity(comp)
                    feedback(comp.name, "running", f"pid {pid}")
                    outcome[comp.name] = "running"
                    continue
                self.start(comp.name, feedback)
                outcome[comp.name] = "started"
            return outcome

    def _up_kafka(self, only: set[str] | None, feedback: Feedback) -> dict[str, str]:
        """Start the dead nodes together (a quorum of several answers only once a majority
        runs), then wait for each; in secure mode apply the role table's users and ACLs."""
        if "kafka" in self.external:
            return {}
        nodes = [n for n in self.cluster.nodes
                 if only is None or n.name in only or "kafka" in only]
        outcome = {}
        spawned = {}
        for node in nodes:
            pid = self.pid(node.name)
            if process.alive(pid):
                outcome[node.name] = "running"
                continue
            spawned[node.name] = (self._spawn(node, feedback), time.monotonic())
            outcome[node.name] = "started"
        for node in nodes:
            if node.name in spawned:
                pid, began = spawned[node.name]
                self._await(node, pid, began, feedback)
            else:
                pid = self.pid(node.name)
                self._wait_healthy(node, pid)
                self._check_identity(node)
                feedback(node.name, "running", f"pid {pid}")
        if self.shape.secure and nodes:
            self.apply_security(feedback)
        return outcome

    def start(self, name: str, feedback: Feedback = silent) -> int:
        with self.locked(feedback):
            comp = self.component(name)
            began = time.monotonic()
            pid = self._spawn(comp, feedback)
            self._await(comp, pid, began, feedback)
            return pid

    def _spawn(self, comp, feedback: Feedback) -> int:
        feedback(comp.name, "starting")
        try:
            self._require_free_ports(comp)
            comp.prepare()
            pid = process.spawn(self._with_credentials(comp, comp.process()))
        except PipelineError:
            feedback(comp.name, "failed")
            raise
        self._set_pid(comp.name, pid)
        return pid

    def _await(self, comp, pid: int, began: float, feedback: Feedback) -> None:
        try:
            self._wait_healthy(comp, pid)
            self._check_identity(comp)
        except PipelineError:
            feedback(comp.name, "failed")
            self.stop(comp.name)  # ours, but not healthy or not answering on its port
            raise
        feedback(comp.name, "healthy", f"after {time.monotonic() - began:.1f} s (pid {pid})")

    # -- security ---------------------------------------------------------------------------

    def principals(self) -> list:
        """The role table's principals for this project (deploy/roles.toml)."""
        from deploy.security import roles
        from schemas import project

        return roles.principals(roles.load(), roles.Scope.of(project.current()))

    def apply_security(self, feedback: Feedback = silent) -> None:
        """Secure mode: every principal's SCRAM user and ACLs on the running cluster."""
        from deploy.security import apply, credentials

        found = self.principals()
        passwords = credentials.ensure(self.cluster.credentials_file, [p.name for p in found])
        counts = apply.apply(self.cluster.admin_conf(), found, passwords)
        feedback("security", "applied",
                 f"{len(found)} principals, {counts['users']} users and {counts['acls']} ACLs "
                 f"created, {counts['removed']} stale ACLs removed")

    def client_configs(self) -> dict[str, dict[str, str]]:
        """{principal: librdkafka dict} of a secure local cluster, empty otherwise."""
        if not self.shape.secure or "kafka" in self.external:
            return {}
        from deploy.security import credentials

        known = credentials.load(self.cluster.credentials_file)
        return {
            name: {"bootstrap.servers": self.cluster.bootstrap_servers,
                   **self.cluster.client_conf(name)}
            for name in known
        }

    def _with_credentials(self, comp, spec):
        """A secure stack's component connects as its own principal (KAFKA_CONF_* variables).
        A component with `uses_kafka = False` (e.g. a local mail server) runs without one."""
        if (not self.shape.secure or "kafka" in self.external or comp.name in INFRASTRUCTURE
                or not getattr(comp, "uses_kafka", True)):
            return spec
        from deploy.security import roles

        principal = roles.for_component(self.principals(), comp.name)
        if principal is None:
            raise StartupFailed(
                f"{comp.name} has no principal in deploy/roles.toml, so it cannot connect to the "
                f"secure cluster; add {comp.name!r} to the `components` of the role it needs"
            )
        conf = self.cluster.client_conf(principal.name)
        return replace(spec, env={**spec.env, **conf_env(conf)})

    def _record_shape(self) -> None:
        recorded = self.recorded_shape
        if recorded is not None and recorded != self.shape and self._formatted_as(recorded):
            raise ShapeChanged(
                f"this home's Kafka was formatted as {_shape_text(recorded)}, and `up` asks for "
                f"{_shape_text(self.shape)}. Run `pipeline up` without --brokers/--secure to "
                f"keep it, or use another PIPELINE_HOME for the new shape (or, with the stack "
                f"down, delete {self.home} to start over: its events are lost)"
            )
        self._write_state(
            ports=asdict(self.ports),
            cluster=asdict(self.shape),
            kafka_nodes=[asdict(n.node_ports) for n in self.cluster.nodes],
        )
        self.recorded_shape = self.shape

    def _formatted_as(self, shape: ClusterShape) -> bool:
        names = [shape.node_name(i + 1) for i in range(shape.brokers)]
        return any((self.home / name / "data" / "meta.properties").exists() for name in names)

    def stop(self, name: str) -> None:
        with self.locked():
            process.stop(self.pid(name))
            self._set_pid(name, None)

    def kill(self, name: str) -> None:
        """kill -9 a component (reliability tests)."""
        process.kill9(self.pid(name))

    def down(self, feedback: Feedback = silent) -> None:
        with self.locked(feedback):
            nodes = []
            for comp in reversed(self.components()):
                if not process.alive(self.pid(comp.name)):
                    self._set_pid(comp.name, None)
                    feedback(comp.name, "not running")
                    continue
                if is_kafka_node(comp.name):
                    nodes.append(comp)
                    continue
                feedback(comp.name, "stopping")
                began = time.monotonic()
                self.stop(comp.name)
                feedback(comp.name, "stopped", f"after {time.monotonic() - began:.1f} s")
            self._stop_together(nodes, feedback)

    def _stop_together(self, nodes: list, feedback: Feedback) -> None:
        """Signal every node at once: a node stopped after the quorum's majority has gone
        would wait for a controller that never answers."""
        began = time.monotonic()
        for node in nodes:
            feedback(node.name, "stopping")
            process.signal_group(self.pid(node.name), signal.SIGTERM)
        for node in nodes:
            self.stop(node.name)
            feedback(node.name, "stopped", f"after {time.monotonic() - began:.1f} s")

    # -- inspection -------------------------------------------------------------------------

    def area_ports(
        self, area: str, wanted: dict[str, int], adopt: dict[str, int] | None = None
    ) -> dict[str, int]:
        """Ports for an area's services, picked once per home and kept in state.json (under
        `area_ports`) so that `status` and a restarted stack find the same ones. `wanted` maps
        each name to its well-known port, taken only by the default stack (test stacks run side
        by side); `adopt` gives ports a home recorded before they moved into the state.

        Only `up` (holding the home's lock) records new ports; a look from `status` at a home
        that never ran picks ports without writing them, so it cannot race a running `up`.
        """
        state = self._read_state()
        recorded = state.get("area_ports", {})
        ports = dict(recorded.get(area) or self._legacy_area_ports(area))
        missing = [name for name in wanted if name not in ports]
        if not missing and area in recorded:
            return ports
        default_stack = self.ports == Ports()
        taken = self._recorded_ports(recorded) | set(ports.values())
        for name in missing:
            ports[name] = (adopt or {}).get(name) or free_port(
                wanted[name] if default_stack else None, avoid=taken
            )
            taken.add(ports[name])
        if self._lock.holding:
            self._write_state(area_ports={**recorded, area: ports})
            # Kept for readers of the older per-area file.
            legacy = self.home / area / "ports.json"
            legacy.parent.mkdir(parents=True, exist_ok=True)
            legacy.write_text(json.dumps(ports, indent=2))
        return ports

    def _recorded_ports(self, area_ports: dict) -> set[int]:
        """Every port this home has given a service: its broker's and registry's, its other
        brokers', and those of each area."""
        ports = set(asdict(self.ports).values())
        for node in self.cluster.nodes:
            ports |= {p for p in asdict(node.node_ports).values() if p}
        for area in area_ports.values():
            ports |= set(area.values())
        return ports

    def _legacy_area_ports(self, area: str) -> dict[str, int]:
        try:
            return dict(json.loads((self.home / area / "ports.json").read_text()))
        except (OSError, ValueError, TypeError):
            return {}

    def child_env(self) -> dict[str, str]:
        """What every process the stack starts needs to reach this stack and see its project:
        the project's import path, this home, the broker and registry (and DATABASE_URL when
        set). Areas add their own keys."""
        from schemas import project

        settings = self.settings
        env = {
            **project.current().env(),
            "PIPELINE_HOME": str(self.home),
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        }
        if settings.database_url:
            env["DATABASE_URL"] = settings.database_url
        return env

    def pid(self, name: str) -> int | None:
        return self._read_state().get("pids", {}).get(name)

    def describe(self) -> dict:
        """Addresses of the stack and of what each area declares, without probing anything."""
        report = {
            "home": str(self.home),
            "kafka": {"bootstrap_servers": self.settings.bootstrap_servers},
            "schema_registry": {"url": self.settings.schema_registry_url},
        }
        if "kafka" not in self.external:
            report["kafka"].update(
                cluster_id=self.cluster.cluster_id(),
                brokers=self.shape.brokers,
                secure=self.shape.secure,
                replication_factor=self.shape.replication_factor,
            )
            configs = self.client_configs()
            if configs:
                report["kafka"]["client_config"] = configs
                report["kafka"]["ca_location"] = str(self.cluster.tls_files.ca_cert)
        for area in _areas():
            report.update(area.status(self))
        return report

    def status(self) -> dict:
        """`describe()` plus `components`: {name: {healthy, pid}} for every managed component
        (with `problem` when the service answering is not this home's), and {healthy, pid:
        None, external: True} for a broker or registry the environment points at."""
        components = self._external_status()
        for comp in self.components():
            pid = self.pid(comp.name)
            running = process.alive(pid)
            entry = {"healthy": running and comp.healthy(), "pid": pid if running else None}
            problem = entry["healthy"] and _problem(comp)
            if problem:
                entry.update(healthy=False, problem=problem)
            components[comp.name] = entry
        report = self.describe()
        report["components"] = components
        if "kafka" not in self.external and any(
            components.get(n.name, {}).get("healthy") for n in self.cluster.nodes
        ):
            report["kafka"]["under_replicated_partitions"] = self.cluster.under_replicated()
        return report

    def _external_status(self) -> dict:
        from schemas import registry

        components = {}
        if "kafka" in self.external:
            healthy = broker_answers(self.settings.kafka_conf())
            components["kafka"] = {"healthy": healthy, "pid": None, "external": True}
        if "registry" in self.external:
            try:
                registry.ping(self.settings)
                healthy = True
            except ServiceUnavailable:
                healthy = False
            components["schema-registry"] = {"healthy": healthy, "pid": None, "external": True}
        return components

    # -- checks -----------------------------------------------------------------------------

    def _require_free_ports(self, comp) -> None:
        for port in getattr(comp, "ports", ()):
            # A component of this home that was just killed may still be exiting: give its
            # port a moment to close before calling the holder a stranger.
            deadline = time.monotonic() + PORT_RELEASE_WAIT_S
            while port_open(port) and time.monotonic() < deadline:
                time.sleep(0.3)
            if port_open(port):
                raise StartupFailed(
                    f"{comp.name} cannot start: port {port} on 127.0.0.1 is already in use by "
                    f"a process this home did not start. Stop that process, or (with this "
                    f"stack down) delete the \"ports\" and \"area_ports\" entries of "
                    f"{self._state_file} so that `pipeline up` picks free ports. "
                    f"Log: {comp.log}"
                )

    def _check_identity(self, comp) -> None:
        """Stop before anything is applied when the service answering is not this home's."""
        claim = getattr(comp, "claim", None)
        if claim is not None:
            claim()
        problem = _problem(comp)
        if problem:
            raise StartupFailed(
                f"{comp.name} is not this home's: {problem}. Nothing was applied. Stop the "
                f"process on port {_port_list(comp)} or give this home other ports. "
                f"Log: {comp.log}"
            )

    def _wait_healthy(self, comp, pid: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not process.alive(pid):
                self._set_pid(comp.name, None)
                taken = [p for p in getattr(comp, "ports", ()) if port_open(p)]
                because = (
                    f" (port {', '.join(map(str, taken))} is in use by another process)"
                    if taken
                    else ""
                )
                raise StartupFailed(
                    f"{comp.name} exited during startup{because}; see its log: {comp.log}\n"
                    + _tail(comp.log)
                )
            if comp.healthy():
                return
            time.sleep(0.3)
        raise StartupFailed(
            f"{comp.name} did not become healthy within {STARTUP_TIMEOUT_S}s "
            f"(port {_port_list(comp)}); see its log: {comp.log}\n" + _tail(comp.log)
        )

    # -- state file -------------------------------------------------------------------------

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


def _shape_text(shape: ClusterShape) -> str:
    nodes = "1 broker" if shape.brokers == 1 else f"{shape.brokers} brokers"
    return f"{nodes}, {'secure' if shape.secure else 'plaintext'}"


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
AREAS = (
    "producer_django", "producer_django.tasks", "streams", "consumers", "consumers.replay",
    "consumers.lineage", "deploy.console",
)


def _areas():
    modules = []
    for area in AREAS:
        name = f"{area}.stack"
        if importlib.util.find_spec(area) is not None and importlib.util.find_spec(name):
            modules.append(importlib.import_module(name))
    return modules


def _problem(comp) -> str | None:
    verify = getattr(comp, "verify", None)
    return verify() if verify is not None else None


def _port_list(comp) -> str:
    return ", ".join(str(p) for p in getattr(comp, "ports", ())) or "-"


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log written)"
