"""The search indexer and the inbox on PostgreSQL (DATABASE_URL), with redeliveries."""

from __future__ import annotations

import pytest

from consumers.db import Database
from consumers.inbox import Inbox
from consumers.options import WorkerOptions
from consumers.shop.search import search
from consumers.shop.testing import search_upsert
from consumers.testing import WorkerThread, publish, wait_until
from schemas.serde import EventSerializer


@pytest.fixture(scope="module")
def postgres_url():
    from producer_django.testing import TemporaryPostgres

    with TemporaryPostgres() as pg:
        yield pg.create_database("shop_workers")


def test_search_index_on_postgres_applies_each_event_once(
    settings, registry_client, make_topic, unique, postgres_url
):
    topic = make_topic("search-pg")
    serializer = EventSerializer(registry_client)
    docs = [search_upsert(f"product:pg-{i}", f"Copper pan {i}", "induction ready")
            for i in range(300)]
    publish(settings, serializer, topic, "SearchDocumentUpserted", docs + docs[:40],
            key_field="document_id")
    group = f"search-pg-{unique}"
    worker = WorkerThread("search", settings, group_id=group, topics=[topic],
                          database_url=postgres_url, options=WorkerOptions(retry_delays_s=(1.0,)))
    db = Database(postgres_url)
    try:
        wait_until(lambda: Inbox(db, group).count() == 300, 60, what="300 events in the inbox")
        wait_until(lambda: worker.worker.metrics.value("duplicate") == 40, 30,
                   what="40 redeliveries skipped")
    finally:
        result = worker.stop()
    assert result.counts == {"handled": 300, "duplicate": 40}
    hits = search(db, "copper induction", limit=1000)
    assert len(hits) == 300
    assert db.fetchall("SELECT count(*) FROM search_index")[0][0] >= 300
    db.close()



def _create_at_once(url: str, makers) -> list[BaseException]:
    """Each maker on its own connection and thread, released together; the errors raised."""
    import threading

    errors: list[BaseException] = []
    start = threading.Barrier(len(makers))

    def create(make):
        database = Database(url)
        try:
            database.connect()
            start.wait(10)
            make(database)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=create, args=(m,)) for m in makers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_processes_starting_at_once_create_the_tables_once(postgres_url):
    """Workers (and the lineage indexer's two groups) start side by side against one empty
    database: each creates its tables if missing, and none fails on the other's creation."""
    from consumers.lineage import store

    base = postgres_url.rpartition("/")[0]
    admin = Database(postgres_url)
    admin.connect()
    try:
        for round_ in range(3):
            admin._conn.execute(f"CREATE DATABASE schema_race_{round_}")
            url = f"{base}/schema_race_{round_}"
            makers = [store.create, store.create, lambda db: Inbox(db, "a").create(),
                      lambda db: Inbox(db, "b").create()]
            assert _create_at_once(url, makers) == []
            assert store.exists(Database(url))
    finally:
        admin.close()


def test_a_batch_claim_counts_only_the_new_ids(postgres_url, unique):
    db = Database(postgres_url)
    inbox = Inbox(db, f"claims-{unique}")
    inbox.create()
    try:
        with db.transaction() as tx:
            assert inbox.claim_many(tx, [("b", "T", 2), ("a", "T", 1)]) == 2
        with db.transaction() as tx:
            assert inbox.claim_many(tx, [("c", "T", 3), ("a", "T", 4)]) == 1
        assert inbox.count() == 3
        with db.transaction() as tx:
            assert inbox.already_applied(tx, ["a", "b", "c", "d"]) == {"a", "b", "c"}
    finally:
        db.close()
