"""The lineage tables, the handlers that fill them and the trace built from them, on SQLite
(no broker: records are `consumers.message.Record`s)."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from consumers import routing
from consumers.db import Database
from consumers.inbox import Inbox
from consumers.lineage import query, render, store
from consumers.lineage.indexer import EffectIndexer, EventIndexer, effect_topics_pattern
from consumers.lineage.settings import DAY_MS, LineageSettings
from consumers.message import Event, Record

NOW_MS = int(time.time() * 1000)


class _Context:
    def __init__(self, database):
        self.database = database


@pytest.fixture
def database(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'lineage.sqlite3'}")
    store.create(db)
    yield db
    db.close()


def _event(event_type, *, topic="t.orders", offset=0, at=NOW_MS, cause=None, aggregate="a-1",
           correlation="c-1", event_id=None, headers=()):
    data = {"event_id": event_id or str(uuid.uuid4()), "aggregate_id": aggregate,
            "correlation_id": correlation, "causation_id": cause, "producer": "tests",
            "occurred_at": at}
    record = Record(topic, b"x", partition_=1, offset_=offset, timestamp_ms=at,
                    headers_=list(headers))
    return Event(event_type, data, record)


def _index(database, events, settings=None):
    # Indexing prunes with the real clock: keep the test's old rows there.
    indexer = EventIndexer(["t.orders"], settings or LineageSettings(max_days=365))
    indexer.open(_Context(database))
    with database.transaction() as tx:
        for event in events:
            indexer.handle(event, tx)
    return indexer


def test_an_event_seen_twice_is_stored_once_with_its_first_offset(database):
    first = _event("Placed", offset=5)
    again = Event("Placed", dict(first.data), Record("t.orders", b"x", offset_=9))
    indexer = _index(database, [first, again])
    rows = database.fetchall("SELECT kafka_offset FROM pipeline_lineage")
    assert rows == [(5,)]
    assert indexer.metrics.events._value.get() == 1


def test_trace_by_aggregate_holds_the_tree_with_effects(database):
    placed = _event("Placed", offset=1)
    note = _event("NoteRequested", topic="t.notes", cause=placed.event_id, aggregate="u-1",
                  at=NOW_MS + 5)
    level = _event("Level", topic="t.levels", cause=placed.event_id, aggregate="sku-1",
                   at=NOW_MS + 6)
    _index(database, [placed, note, level])
    inbox = Inbox(database, "worker-notes")
    inbox.create()
    inbox.record(note.event_id, "NoteRequested", NOW_MS + 10)
    Inbox(database, "lineage-other").record(note.event_id, "NoteRequested", NOW_MS + 11)

    roots = query.Lineage(database, ["worker-notes"]).trace("a-1")

    assert [r.event_id for r in roots] == [placed.event_id] and roots[0].matched
    children = {c.event_type: c for c in roots[0].children}
    assert set(children) == {"NoteRequested", "Level"}
    assert children["NoteRequested"].causation_id == placed.event_id
    assert [(e.group, e.outcome) for e in children["NoteRequested"].effects] == [
        ("worker-notes", "done")
    ]
    as_json = json.loads(json.dumps([r.to_dict() for r in roots]))
    assert as_json[0]["children"][0]["effects"][0]["outcome"] == "done"
    text = "\n".join(render.tree_lines(roots))
    assert "NoteRequested" in text and "worker-notes: done" in text


def test_trace_by_event_id_starts_at_the_first_known_ancestor(database):
    placed = _event("Placed")
    note = _event("NoteRequested", cause=placed.event_id, aggregate="u-1", at=NOW_MS + 1)
    _index(database, [placed, note])
    roots = query.Lineage(database, []).trace(note.event_id)
    assert roots[0].event_id == placed.event_id and not roots[0].matched
    assert roots[0].children[0].matched


def test_trace_by_correlation_id(database):
    placed = _event("Placed", correlation="corr-9", aggregate="x")
    other = _event("Other", correlation="corr-9", aggregate="y", at=NOW_MS + 1)
    _index(database, [placed, other])
    roots = query.Lineage(database, []).trace("corr-9")
    assert {r.event_type for r in roots} == {"Placed", "Other"}


def test_unknown_id_and_missing_table_are_clear_errors(database, tmp_path):
    with pytest.raises(query.UnknownTraceId, match="no event id, aggregate id or correlation"):
        query.Lineage(database, []).trace("nope")
    empty = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    with pytest.raises(query.LineageMissing, match="pipeline lineage run"):
        query.Lineage(empty, []).trace("x")
    assert query.recent(empty.url) == []


def test_dead_letters_and_retries_become_effects(database):
    placed = _event("Placed")
    _index(database, [placed])
    hop = routing.next_hop(placed.message, "worker-notes", (1.0,), RuntimeError("smtp down"),
                           now_ms=NOW_MS)
    retry = Event("Placed", dict(placed.data),
                  Record(hop.topic, b"x", headers_=hop.headers, timestamp_ms=NOW_MS + 1))
    dead_hop = routing.next_hop(retry.message, "worker-notes", (1.0,), RuntimeError("still"))
    dead = Event("Placed", dict(placed.data),
                 Record(dead_hop.topic, b"x", headers_=dead_hop.headers, timestamp_ms=NOW_MS + 2))
    effects = EffectIndexer(["worker-notes"])
    effects.open(_Context(database))
    with database.transaction() as tx:
        for event in (retry, dead, dead):  # the dead letter redelivered: recorded once
            effects.handle(event, tx)
    roots = query.Lineage(database, []).trace(placed.event_id)
    got = [(e.group, e.outcome) for e in roots[0].effects]
    assert got == [("worker-notes", "retried"), ("worker-notes", "dead-lettered")]
    assert "retries exhausted" in roots[0].effects[1].detail
    assert "smtp down" in roots[0].effects[0].detail


def test_prune_keeps_the_newest_rows_and_the_age_bound(database):
    old = [_event("Old", offset=i, at=NOW_MS - 10 * DAY_MS + i) for i in range(3)]
    new = [_event("New", offset=10 + i, at=NOW_MS + i) for i in range(5)]
    _index(database, old + new, LineageSettings(max_days=365))
    bounds = LineageSettings(max_rows=3, max_days=7, prune_batch=100)
    with database.transaction() as tx:
        pruned = store.prune(tx, bounds, NOW_MS + 10)
    assert pruned.events == 5
    kept = database.fetchall("SELECT kafka_offset FROM pipeline_lineage ORDER BY kafka_offset")
    assert [r[0] for r in kept] == [12, 13, 14]


def test_prune_deletes_at_most_a_batch(database):
    old = [_event("Old", offset=i, at=NOW_MS - 10 * DAY_MS + i) for i in range(5)]
    _index(database, old)
    with database.transaction() as tx:
        pruned = store.prune(tx, LineageSettings(prune_batch=2), NOW_MS)
    assert pruned.events == 2 and pruned.more
    assert store.count(database) == 3


def test_effect_topics_pattern_names_only_the_groups_topics():
    import re

    pattern = re.compile(effect_topics_pattern(["worker-notes", "streams-fan_out"]))
    assert pattern.match("worker-notes.dlq") and pattern.match("streams-fan_out.retry.2")
    assert not pattern.match("worker-notesXdlq") and not pattern.match("lineage.dlq")
    assert not pattern.match("worker-notes.dlq-redrive")


def test_lineage_tables_live_beside_a_sqlite_database_and_inside_postgres():
    assert store.lineage_url("sqlite:////data/pipeline.sqlite3") == (
        "sqlite:////data/pipeline.lineage.sqlite3")
    url = "postgresql://u:p@db:5432/shop"
    assert store.lineage_url(url) == url
