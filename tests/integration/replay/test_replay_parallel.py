"""A jsonl export read by several processes writes what one process writes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys

import pytest
from conftest import order

pytestmark = pytest.mark.integration


def _replay(settings, *argv, shell_tail: str = "") -> subprocess.CompletedProcess:
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
               SCHEMA_REGISTRY_URL=settings.schema_registry_url)
    command = " ".join([sys.executable, "-m", "deploy.cli", "replay", *argv, "--no-progress"])
    return subprocess.run(f"set -o pipefail; {command}{shell_tail}", shell=True,
                          executable="/bin/bash", env=env, capture_output=True, timeout=120)


@pytest.fixture
def spread_topic(make_topic, producer):
    """Three partitions of unequal size, one undecodable record in the middle one."""
    topic = make_topic("replay-parallel", partitions=3)
    items = [("OrderPlaced", order(i), i % 3 if i % 5 else 0, None) for i in range(600)]
    producer.send_all(topic, items)
    bad = struct.pack(">bI", 0, 987655) + b"\x02xx"
    landed = producer.send(topic, "OrderPlaced", order(9999), partition=1, value=bad)
    producer.send_all(topic, [("OrderPlaced", order(601), 1, None)])
    assert landed and landed[0][0] is None
    return topic, landed[0][1].offset()


@pytest.mark.parametrize("mode", [[], ["--raw"]])
def test_three_processes_write_the_lines_one_process_writes(settings, spread_topic, mode):
    topic, _ = spread_topic
    one = _replay(settings, topic, "--processes", "1", *mode)
    three = _replay(settings, topic, "--processes", "3", *mode)
    assert one.stdout and sorted(one.stdout.splitlines()) == sorted(three.stdout.splitlines())
    assert one.returncode == three.returncode
    # The summary counts every process's records.
    assert b"records written, 602 read" in three.stderr


def test_each_partition_keeps_its_order(settings, spread_topic):
    import json

    topic, _ = spread_topic
    done = _replay(settings, topic, "--processes", "3", "--raw")
    offsets: dict[int, list[int]] = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        offsets.setdefault(row["partition"], []).append(row["offset"])
    assert set(offsets) == {0, 1, 2}
    assert all(found == sorted(found) for found in offsets.values())


def test_an_undecodable_record_is_named_by_the_process_that_met_it(settings, spread_topic):
    topic, offset = spread_topic
    done = _replay(settings, topic, "--processes", "3")
    assert done.returncode == 1
    assert f"undecodable: {topic}[1]@{offset}: schema id 987655".encode() in done.stderr
    assert b"1 undecodable" in done.stderr
    assert len(done.stdout.splitlines()) == 601


def test_a_reader_that_goes_away_ends_every_process_quietly(settings, spread_topic):
    topic, _ = spread_topic
    done = _replay(settings, topic, "--processes", "3", shell_tail=" | head -1")
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1
    assert b"Traceback" not in done.stderr, done.stderr


def test_processes_must_be_positive(settings, spread_topic):
    topic, _ = spread_topic
    done = _replay(settings, topic, "--processes", "0")
    assert done.returncode != 0 and b"--processes 0: give 1 or more" in done.stderr
