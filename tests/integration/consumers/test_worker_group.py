"""Workers scale by adding processes to the group; bad addresses are named, never hung on."""

from __future__ import annotations

import pytest

from consumers.db import Database
from consumers.inbox import Inbox
from consumers.options import WorkerOptions
from consumers.shop.testing import search_upsert
from consumers.testing import WorkerThread, publish, wait_until
from deploy.cli import main as pipeline
from deploy.runtime.ports import free_port
from schemas.serde import EventSerializer


def test_a_second_worker_takes_partitions_without_redelivery(
    settings, registry_client, make_topic, unique, tmp_path
):
    topic = make_topic("search-scale", partitions=6)
    url = f"sqlite:///{tmp_path / 'worker.sqlite3'}"
    group = f"search-scale-{unique}"
    serializer = EventSerializer(registry_client)
    docs = [search_upsert(f"doc-{i}", f"Chair {i}") for i in range(3000)]
    publish(settings, serializer, topic, "SearchDocumentUpserted", docs[:1500])
    options = WorkerOptions(retry_delays_s=(1.0,), batch_size=100)
    first = WorkerThread("search", settings, group_id=group, topics=[topic], database_url=url,
                         options=options)
    db = Database(url)
    second = None
    try:
        wait_until(lambda: Inbox(db, group).count() >= 300, 60, what="the first worker to start")
        second = WorkerThread("search", settings, group_id=group, topics=[topic],
                              database_url=url, options=options)
        # Cooperative rebalance: the second member gets some partitions, the first keeps the rest.
        wait_until(lambda: len(second.worker.assignment()) > 0, 60,
                   what="the second worker to be assigned partitions")
        publish(settings, serializer, topic, "SearchDocumentUpserted", docs[1500:])
        wait_until(lambda: Inbox(db, group).count() == 3000, 90, what="3000 events handled")
        wait_until(lambda: sum(w.worker.metrics.value("handled") for w in (first, second))
                   == 3000, 30, what="handled counts to settle")
        assert second.worker.metrics.value("handled") > 0, "the second worker got no partition"
    finally:
        results = [w.stop() for w in (first, second) if w is not None]
    # Partitions moved with their offsets committed on revocation: nothing came twice.
    assert sum(r.counts.get("duplicate", 0) for r in results) == 0
    assert sum(r.counts.get("handled", 0) for r in results) == 3000


@pytest.mark.parametrize("broken", ["broker", "registry"])
def test_an_unreachable_service_is_named(broken, settings, tmp_path, monkeypatch, capsys):
    port = free_port()  # nothing listens there
    bad = f"127.0.0.1:{port}"
    monkeypatch.setenv("PIPELINE_HOME", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS",
                       bad if broken == "broker" else settings.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", f"http://{bad}/apis/ccompat/v7"
                       if broken == "registry" else settings.schema_registry_url)
    assert pipeline(["worker", "search"]) == 3
    err = capsys.readouterr().err
    assert bad in err and "unreachable" in err
