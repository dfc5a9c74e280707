"""Stack.up / down with small real processes standing in for services: progress lines, ports
that must be free, components that die or are not this home's, ports kept in the state."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from deploy.runtime.ports import free_port, port_open
from deploy.runtime.process import ProcessSpec
from deploy.stack import Ports, Stack, StartupFailed


class Service:
    """An HTTP server on a loopback port: healthy when the port answers."""

    def __init__(self, home: Path, name: str, port: int, argv: list[str] | None = None,
                 problem: str | None = None):
        self.name = name
        self.port = port
        self.dir = home / name
        self.argv = argv or [sys.executable, "-m", "http.server", str(port),
                             "--bind", "127.0.0.1"]
        self.problem = problem
        self.prepared = False

    @property
    def log(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def ports(self):
        return (self.port,)

    def prepare(self):
        self.prepared = True
        self.dir.mkdir(parents=True, exist_ok=True)

    def process(self) -> ProcessSpec:
        return ProcessSpec(argv=self.argv, log=self.log)

    def healthy(self) -> bool:
        return port_open(self.port)

    def verify(self):
        return self.problem


class FakeStack(Stack):
    def __init__(self, home: Path, services: list):
        super().__init__(home=home, ports=Ports(1, 2, 3), external={"kafka", "registry"})
        self.services = services

    def components(self):
        return self.services


@pytest.fixture
def lines():
    return []


def _recorder(seen):
    return lambda name, state, detail="": seen.append((name, state))


def test_up_and_down_report_each_component_as_it_goes(tmp_path, lines):
    services = [Service(tmp_path, "one", free_port()), Service(tmp_path, "two", free_port())]
    stack = FakeStack(tmp_path, services)
    try:
        assert stack.up(feedback=_recorder(lines)) == {"one": "started", "two": "started"}
        assert lines == [("one", "starting"), ("one", "healthy"),
                         ("two", "starting"), ("two", "healthy")]
        lines.clear()
        assert stack.up(feedback=_recorder(lines)) == {"one": "running", "two": "running"}
        assert lines == [("one", "running"), ("two", "running")]
    finally:
        lines.clear()
        stack.down(feedback=_recorder(lines))
    assert lines == [("two", "stopping"), ("two", "stopped"),
                     ("one", "stopping"), ("one", "stopped")]
    assert stack.pid("one") is None and not port_open(services[0].port)


def test_a_port_taken_by_someone_else_fails_before_anything_starts(tmp_path, lines):
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        port = foreign.getsockname()[1]
        service = Service(tmp_path, "one", port)
        stack = FakeStack(tmp_path, [service])
        with pytest.raises(StartupFailed) as failure:
            stack.up(feedback=_recorder(lines))
    message = str(failure.value)
    assert f"port {port}" in message and str(service.log) in message
    assert not service.prepared and stack.pid("one") is None
    assert lines == [("one", "starting"), ("one", "failed")]


def test_a_component_that_dies_on_start_is_named_with_its_log(tmp_path):
    argv = [sys.executable, "-c", "import sys; print('cannot bind'); sys.exit(3)"]
    service = Service(tmp_path, "one", free_port(), argv=argv)
    stack = FakeStack(tmp_path, [service])
    with pytest.raises(StartupFailed) as failure:
        stack.up()
    message = str(failure.value)
    assert "exited during startup" in message and str(service.log) in message
    assert "cannot bind" in message  # the log's tail
    assert stack.pid("one") is None


def test_a_component_that_is_not_this_homes_is_stopped_and_named(tmp_path):
    service = Service(tmp_path, "one", free_port(), problem="cluster x is not ours")
    stack = FakeStack(tmp_path, [service])
    with pytest.raises(StartupFailed) as failure:
        stack.up()
    assert "not this home's: cluster x is not ours" in str(failure.value)
    assert stack.pid("one") is None and not port_open(service.port)


def test_area_ports_are_kept_in_the_state_by_up_only(tmp_path):
    stack = FakeStack(tmp_path, [])
    looked = stack.area_ports("things", {"web": 8000})
    assert not (tmp_path / "state.json").exists()  # a look (status) writes nothing
    with stack.locked():
        kept = stack.area_ports("things", {"web": 8000, "api": 8001})
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["area_ports"]["things"] == kept
    assert stack.area_ports("things", {"web": 8000, "api": 8001}) == kept
    assert looked["web"] != 8000  # a test stack (not the default ports) never takes 8000


def test_a_picked_port_is_never_picked_again_nor_one_the_home_recorded(tmp_path, monkeypatch):
    from deploy.runtime import ports

    # Every candidate is bindable (nothing listens yet), so only the bookkeeping tells them apart.
    monkeypatch.setattr(ports, "_PICK_RANGE", (29990, 29999))
    picked = {free_port() for _ in range(5)}
    assert len(picked) == 5
    assert free_port(preferred=next(iter(picked))) not in picked
    recorded = set(range(29990, 30000)) - picked
    assert free_port(avoid=recorded) not in picked | recorded  # the kernel's pick then

    stack = FakeStack(tmp_path, [])
    with stack.locked():
        area = stack.area_ports("things", {"web": 8000, "api": 8001, "admin": 8002})
        other = stack.area_ports("others", {"web": 8000})
    assert len(set(area.values()) | set(other.values())) == 4


def test_area_ports_of_an_older_home_are_adopted(tmp_path):
    (tmp_path / "things").mkdir()
    (tmp_path / "things" / "ports.json").write_text(json.dumps({"web": 12345}))
    stack = FakeStack(tmp_path, [])
    with stack.locked():
        assert stack.area_ports("things", {"web": 8000}) == {"web": 12345}
    assert json.loads((tmp_path / "state.json").read_text())["area_ports"]["things"] == {
        "web": 12345
    }


def test_up_records_the_stack_ports(tmp_path):
    stack = FakeStack(tmp_path, [])
    stack.up()
    assert json.loads((tmp_path / "state.json").read_text())["ports"] == {
        "kafka": 1, "kafka_controller": 2, "registry": 3
    }
