"""Every export format read back by its standard reader; masking on by default; bad input."""

from __future__ import annotations

import csv
import io
import json
import struct

import pyarrow.parquet as pq
import pytest
from conftest import make_event, order, user
from fastavro import reader as avro_reader

from consumers.replay import records
from consumers.replay.masking import MASK
from deploy.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", settings.schema_registry_url)


def run_cli(capsysbinary, *argv) -> tuple[int, bytes, str]:
    code = main(list(argv))
    out, err = capsysbinary.readouterr()
    return code, out, err.decode()


@pytest.fixture
def users_topic(make_topic, producer):
    topic = make_topic("replay-users", partitions=2)
    producer.send_all(topic, [("UserRegistered", user(i), i % 2, None) for i in range(10)])
    return topic


@pytest.fixture
def mixed_topic(make_topic, producer):
    """Orders and notifications (with a PII map) on one topic: two schemas, nested values."""
    topic = make_topic("replay-mixed", partitions=2)
    items = [("OrderPlaced", order(i), i % 2, None) for i in range(6)]
    items += [
        ("NotificationRequested",
         make_event("NotificationRequested", user_id=f"u-{i}", recipient=f"u{i}@example.com",
                    template="welcome", params={"name": f"Name {i}"}), i % 2, None)
        for i in range(4)
    ]
    producer.send_all(topic, items)
    return topic


def test_masking_is_on_by_default(settings, users_topic):
    masked = list(records(users_topic, settings=settings))
    assert len(masked) == 10
    assert all(r.value["email"] == MASK and r.value["name"] == MASK for r in masked)
    assert all(r.value["user_id"].startswith("u-") for r in masked)

    clear = list(records(users_topic, settings=settings, unmask=True))
    assert sorted(r.value["email"] for r in clear) == sorted(
        f"user{i}@example.com" for i in range(10)
    )


def test_raw_refuses_pii_topics_without_unmask(cli_env, users_topic, capsysbinary):
    code, out, err = run_cli(capsysbinary, "replay", users_topic, "--raw")
    assert code == 1 and out == b""
    assert "personal data" in err and "email" in err and "--unmask" in err
    code, out, _ = run_cli(capsysbinary, "replay", users_topic, "--raw", "--unmask")
    assert code == 0
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert len(lines) == 10 and all(line["event_type"] == "UserRegistered" for line in lines)


def test_csv(cli_env, mixed_topic, tmp_path, capsysbinary):
    path = tmp_path / "out.csv"
    code, _, err = run_cli(capsysbinary, "replay", mixed_topic, "--out", str(path))
    assert code == 0, err
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 10
    orders = [r for r in rows if r["event_type"] == "OrderPlaced"]
    notes = [r for r in rows if r["event_type"] == "NotificationRequested"]
    assert len(orders) == 6 and len(notes) == 4
    assert json.loads(orders[0]["lines"])[0]["sku"].startswith("SKU-")
    assert all(r["recipient"] == MASK and json.loads(r["params"]) == {"name": MASK}
               for r in notes)
    assert all(r["template"] == "welcome" for r in notes)


def test_avro(cli_env, mixed_topic, tmp_path, capsysbinary):
    path = tmp_path / "out.avro"
    code, _, err = run_cli(capsysbinary, "replay", mixed_topic, "--out", str(path))
    assert code == 0, err
    with path.open("rb") as fh:
        rows = list(avro_reader(fh))
    assert len(rows) == 10
    by_type = {}
    for row in rows:
        by_type.setdefault(row["event_type"], []).append(row)
    assert by_type["OrderPlaced"][0]["value"]["lines"][0]["quantity"] >= 1
    assert all(r["value"]["recipient"] == MASK for r in by_type["NotificationRequested"])


def test_parquet(cli_env, mixed_topic, tmp_path, capsysbinary):
    path = tmp_path / "out.parquet"
    code, _, err = run_cli(capsysbinary, "replay", mixed_topic, "--format", "parquet",
                           "--out", str(path), "--unmask")
    assert code == 0, err
    table = pq.read_table(path)
    assert table.num_rows == 10
    rows = table.to_pylist()
    notes = [r for r in rows if r["event_type"] == "NotificationRequested"]
    assert sorted(r["recipient"] for r in notes) == [f"u{i}@example.com" for i in range(4)]
    orders = [r for r in rows if r["event_type"] == "OrderPlaced"]
    assert orders[0]["lines"][0]["sku"].startswith("SKU-")
    assert str(table.schema.field("total_cents").type) == "int64"


def test_dataframe(settings, mixed_topic):
    df = __import__("consumers.replay", fromlist=["dataframe"]).dataframe(
        mixed_topic, settings=settings, where=["event_type=OrderPlaced"]
    )
    assert len(df) == 6
    assert set(df["event_type"]) == {"OrderPlaced"}
    assert df["total_cents"].sum() == sum(250 * (1 + i % 3) for i in range(6))


# -- bad input ---------------------------------------------------------------------------------


def test_unknown_topic(cli_env, users_topic, capsysbinary):
    code, _, err = run_cli(capsysbinary, "replay", users_topic + "x")
    assert code == 1
    assert "does not exist" in err and users_topic in err  # suggested as a close match


def test_to_before_from(cli_env, users_topic, capsysbinary):
    code, _, err = run_cli(capsysbinary, "replay", users_topic, "--from", "2026-01-02",
                           "--to", "2026-01-01")
    assert code == 1 and "is before --from" in err


def test_range_with_no_data(cli_env, users_topic, capsysbinary):
    code, _, err = run_cli(capsysbinary, "replay", users_topic, "--from", "2001-01-01",
                           "--to", "2001-01-02")
    assert code == 1 and "no records" in err and "holds 10 records" in err


def test_unknown_where_field(cli_env, users_topic, capsysbinary):
    code, _, err = run_cli(capsysbinary, "replay", users_topic, "--where", "emial=x")
    assert code == 1 and "'emial'" in err and "did you mean email" in err


def test_unknown_schema_id_is_reported_with_coordinates(cli_env, make_topic, producer,
                                                        capsysbinary):
    topic = make_topic("replay-bad", partitions=1)
    bad = struct.pack(">bI", 0, 987654) + b"\x02xx"
    producer.send_all(topic, [("OrderPlaced", order(1), 0, None)])
    landed = producer.send(topic, "OrderPlaced", order(2), partition=0, value=bad)
    producer.send_all(topic, [("OrderPlaced", order(3), 0, None)])
    assert landed and landed[0][0] is None
    code, out, err = run_cli(capsysbinary, "replay", topic)
    assert code == 1
    assert len(out.decode().splitlines()) == 2
    assert f"undecodable: {topic}[0]@1: schema id 987654 is not known" in err
    assert "1 undecodable" in err and "--raw" in err
    # --raw exports it untouched.
    code, out, _ = run_cli(capsysbinary, "replay", topic, "--raw")
    assert code == 0
    values = [json.loads(line)["value_base64"] for line in out.decode().splitlines()]
    import base64

    assert base64.b64decode(values[1]) == bad


def test_stdout_closed_early_is_not_an_error(settings, make_topic, producer):
    """`pipeline replay T | head -1` ends quietly."""
    import os
    import subprocess
    import sys

    topic = make_topic("replay-head", partitions=1)
    producer.send_all(topic, [("OrderPlaced", order(i), 0, None) for i in range(2000)])
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
               SCHEMA_REGISTRY_URL=settings.schema_registry_url)
    proc = subprocess.run(
        f"set -o pipefail; {sys.executable} -m deploy.cli replay {topic} | head -1",
        shell=True, executable="/bin/bash", env=env, capture_output=True, timeout=60,
    )
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 1
    assert b"Traceback" not in proc.stderr and b"Exception" not in proc.stderr, proc.stderr
    assert io.BytesIO(proc.stdout).read(1) == b"{"


def test_tombstones_are_records_without_value(settings, make_topic, producer):
    topic = make_topic("replay-compacted", partitions=1)
    producer.send_all(topic, [("OrderPlaced", order(1), 0, None)])
    producer.send_tombstone(topic, b"o-1", 0)
    got = list(records(topic, settings=settings))
    assert [(r.key, r.event_type, r.value is None) for r in got] == [
        ("o-1", "OrderPlaced", False), ("o-1", None, True)
    ]

