"""Two local stacks side by side on one machine, each in its own PIPELINE_HOME.

Each runs `pipeline up` for a throwaway project declaring one event (no Django, workers or
streams, to keep it light) with the real embedded runtime. They must get different ports and
cluster ids, and each catalog must land on its own broker only. A foreign listener on a home's
port must make `up` fail with one clear error before anything is applied.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import Schema

from deploy.runtime.kafka import KafkaBroker, reported_cluster_id
from deploy.runtime.registry import SchemaRegistryServer
from schemas import registry
from schemas.catalog import event_schema
from schemas.config import ConnectionSettings

pytestmark = pytest.mark.integration

STEP_TIMEOUT_S = 600


def _make_project(root: Path, name: str) -> str:
    """A project declaring one event on the topic `<name>.pings`; returns the topic."""
    topic = f"{name}.pings"
    (root / "ev" / "avro").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\n\n'
        '[tool.event-pipeline]\nschemas = ["ev/avro"]\ntopics = "ev/topics.toml"\n'
    )
    (root / "ev" / "topics.toml").write_text(
        f'[topics."{topic}"]\nevents = {{ Pinged = "ping_id" }}\npartitions = 1\n'
    )
    schema = event_schema("Pinged", f"{name}.events", [{"name": "ping_id", "type": "string"}])
    (root / "ev" / "avro" / "Pinged.avsc").write_text(json.dumps(schema, indent=2))
    return topic


class Home:
    def __init__(self, tmp: Path, name: str):
        self.project = tmp / f"{name}-project"
        self.home = tmp / f"{name}-home"
        self.topic = _make_project(self.project, name)
        self.env = {
            k: v for k, v in os.environ.items()
            if k not in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL",
                         "DJANGO_SETTINGS_MODULE")
        }
        self.env.update(PIPELINE_HOME=str(self.home), PIPELINE_PROJECT=str(self.project),
                        PYTHONUNBUFFERED="1")

    def pipeline(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "deploy.cli", *args], env=self.env, cwd=self.project,
            capture_output=True, text=True, timeout=STEP_TIMEOUT_S,
        )

    def status(self) -> dict:
        return json.loads(self.pipeline("status", "--json").stdout)


@pytest.fixture(scope="module")
def homes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two-stacks")
    first, second = Home(tmp, "alpha"), Home(tmp, "beta")
    try:
        for home in (first, second):
            done = home.pipeline("up")
            assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        yield first, second
    finally:
        for home in (first, second):
            home.pipeline("down")


def test_both_stacks_are_healthy_on_their_own_ports_and_clusters(homes):
    first, second = homes
    reports = [home.status() for home in homes]
    for report in reports:
        assert {"kafka", "schema-registry"} <= set(report["components"])
        assert all(c["healthy"] for c in report["components"].values()), report["components"]
    addresses = [
        {r["kafka"]["bootstrap_servers"], r["schema_registry"]["url"], r["smtp"]["port"]}
        for r in reports
    ]
    assert not addresses[0] & addresses[1]
    cluster_ids = [r["kafka"]["cluster_id"] for r in reports]
    assert cluster_ids[0] != cluster_ids[1]
    for report, cluster_id in zip(reports, cluster_ids, strict=True):
        bootstrap = report["kafka"]["bootstrap_servers"]
        assert reported_cluster_id({"bootstrap.servers": bootstrap}) == cluster_id
    state = json.loads((first.home / "state.json").read_text())
    assert state["ports"]["kafka"] == int(reports[0]["kafka"]["bootstrap_servers"].split(":")[1])
    assert state["area_ports"]["consumers"]["smtp"] == reports[0]["smtp"]["port"]


def test_each_catalog_lands_on_its_own_broker_only(homes):
    for home, other in (homes, homes[::-1]):
        report = home.status()
        names = AdminClient(
            {"bootstrap.servers": report["kafka"]["bootstrap_servers"]}
        ).list_topics(timeout=10).topics
        assert home.topic in names
        assert other.topic not in names
        client = registry.connect(
            ConnectionSettings(schema_registry_url=report["schema_registry"]["url"])
        )
        subjects = set(client.get_subjects())
        assert any(s.startswith(home.topic) for s in subjects), subjects
        assert not any(s.startswith(other.topic) for s in subjects), subjects


def test_a_home_does_not_take_another_homes_services_for_its_own(homes):
    first, second = homes
    theirs = second.status()
    their_kafka = int(theirs["kafka"]["bootstrap_servers"].rsplit(":", 1)[1])
    their_registry = int(theirs["schema_registry"]["url"].split(":")[2].split("/")[0])
    # Our home's broker and registry, pointed at the other home's ports.
    problem = KafkaBroker(first.home, their_kafka, 1).verify()
    assert problem and "another stack's broker" in problem and str(their_kafka) in problem
    problem = SchemaRegistryServer(first.home, their_registry).verify()
    assert problem and "another registry" in problem


def test_concurrent_ups_on_one_home_serialize_and_both_succeed(homes):
    home = homes[1]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "up"], env=home.env, cwd=home.project,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=STEP_TIMEOUT_S) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, f"{out}\n{err}"
        assert "Traceback" not in err
        assert "pipeline status" in out


def test_concurrent_registration_races_count_as_success(homes, unique):
    report = homes[0].status()
    settings = ConnectionSettings(schema_registry_url=report["schema_registry"]["url"])
    subject = f"race-{unique}-value"
    schema = Schema(json.dumps(event_schema("Raced", "race.events", [])), "AVRO")
    errors, ids = [], []
    start = threading.Barrier(6)

    def racer():
        client = registry.connect(settings, check=False)
        start.wait()
        try:
            registry.set_compatibility(client, subject)
            ids.append(registry.register(client, subject, schema))
        except Exception as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(set(ids)) == 1
    client = registry.connect(settings)
    assert client.get_compatibility(subject) == registry.COMPATIBILITY


def test_a_foreign_listener_on_the_kafka_port_fails_up_before_anything_is_applied(homes):
    home = homes[0]
    port = int(home.status()["kafka"]["bootstrap_servers"].rsplit(":", 1)[1])
    assert home.pipeline("down").returncode == 0
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        try:
            listener.bind(("127.0.0.1", port))
            listener.listen()
        except OSError:
            pass  # someone else took the port meanwhile: just as foreign
        done = home.pipeline("up")
    finally:
        listener.close()
    assert done.returncode == 1, f"{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr
    assert f"port {port}" in errors[0]
    assert str(home.home / "kafka" / "kafka.log") in errors[0]
    assert "topics" not in done.stdout + done.stderr.replace(errors[0], "")
    components = home.status()["components"]
    assert components["kafka"]["pid"] is None
    assert components["schema-registry"]["pid"] is None
