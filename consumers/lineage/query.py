"""Reading the lineage: the causation tree of an id, and the latest events.

    trace(database_url, ident) -> list[TraceNode]     roots, each with its descendants
    recent(database_url, limit=50) -> list[TraceNode] newest first, without children/effects

`database_url` is the workers' database (its inbox); the lineage tables are read from
`store.lineage_url` of it. `ident` is tried as an event id (the tree from that event's first
known ancestor, the event marked `matched`), then as an aggregate id, then as a correlation
id (every event with that id, linked by causation, plus what they caused). Each node's
`effects` are the workers' inbox rows (`done`, read from `consumer_inbox` per declared worker
group, by primary key) and the recorded dead letters and retries. Every lookup goes through
an index; a tree stops at `max_events`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from consumers.db import Database
from consumers.inbox import TABLE as INBOX
from consumers.lineage import store
from schemas import project as projects
from schemas.errors import PipelineError

MAX_EVENTS = 2000
_MAX_ANCESTORS = 100
_CHUNK = 500
_SELECT = (
    f"SELECT {', '.join(store.EVENT_COLUMNS)} FROM {store.EVENTS}"
)


class LineageError(PipelineError):
    """The lineage cannot answer as asked; the message says why and what to do."""


class UnknownTraceId(LineageError):
    """No event, aggregate or correlation id matches."""


class LineageMissing(LineageError):
    """The database has no lineage table: the indexer never ran on it."""


@dataclass
class Effect:
    """What a consumer group did with an event: `done` (in its inbox), `retried` or
    `dead-lettered` (with `detail`: the reason and error)."""

    group: str
    outcome: str
    at_ms: int
    detail: str | None = None

    def to_dict(self) -> dict:
        return {"group": self.group, "outcome": self.outcome, "at_ms": self.at_ms,
                "at": iso_time(self.at_ms), "detail": self.detail}


@dataclass
class TraceNode:
    event_id: str
    event_type: str
    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    aggregate_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    producer: str | None = None
    effects: list[Effect] = field(default_factory=list)
    children: list[TraceNode] = field(default_factory=list)
    # The node the id named (event id), or one of the events carrying it (aggregate, correlation).
    matched: bool = False

    @property
    def time(self) -> str:
        return iso_time(self.timestamp_ms)

    def walk(self) -> Iterable[TraceNode]:
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict:
        return {
            "event_id": self.event_id, "event_type": self.event_type, "topic": self.topic,
            "partition": self.partition, "offset": self.offset,
            "timestamp_ms": self.timestamp_ms, "time": self.time,
            "aggregate_id": self.aggregate_id, "correlation_id": self.correlation_id,
            "causation_id": self.causation_id, "producer": self.producer,
            "matched": self.matched,
            "effects": [e.to_dict() for e in self.effects],
            "children": [c.to_dict() for c in self.children],
        }


def iso_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def trace(database_url: str, ident: str, *, groups: Sequence[str] | None = None,
          max_events: int = MAX_EVENTS) -> list[TraceNode]:
    """The causation trees `ident` names, roots in time order (see the module docstring).
    `groups`: the consumer groups whose inbox gives `done` effects (default: the project's
    declared workers). Raises UnknownTraceId or LineageMissing."""
    inbox = Database(database_url)
    database = Database(store.lineage_url(database_url))
    try:
        return Lineage(database, groups, inbox).trace(ident, max_events)
    finally:
        database.close()
        inbox.close()


def recent(database_url: str, limit: int = 50) -> list[TraceNode]:
    """The `limit` latest indexed events, newest first ([] when nothing is indexed yet)."""
    database = Database(store.lineage_url(database_url))
    try:
        if not store.exists(database):
            return []
        return Lineage(database, ()).recent(limit)
    finally:
        database.close()


class Lineage:
    """Queries over the lineage tables in `database`, effects from the inbox in `inbox`
    (default: the same database)."""

    def __init__(self, database: Database, groups: Sequence[str] | None = None,
                 inbox: Database | None = None):
        self.database = database
        self.inbox = inbox or database
        self._groups = groups

    @property
    def groups(self) -> list[str]:
        if self._groups is None:
            self._groups = [w.group for w in projects.current().workers.values()]
        return list(self._groups)

    def recent(self, limit: int) -> list[TraceNode]:
        rows = self.database.fetchall(
            f"{_SELECT} ORDER BY timestamp_ms DESC LIMIT %s", (int(limit),)
        )
        return [_node(r) for r in rows]

    def trace(self, ident: str, max_events: int = MAX_EVENTS) -> list[TraceNode]:
        if not store.exists(self.database):
            raise LineageMissing(
                f"no lineage table ({store.EVENTS}) in {self.database.describe()}: the lineage "
                "indexer has not run on this database. Start it with `pipeline up` (component "
                "`lineage`) or `pipeline lineage run`, then trace again"
            )
        found = self._events("event_id", [ident])
        if found:
            matched = {ident}
            seeds = [self._root_of(found[0])]
        else:
            for column in ("aggregate_id", "correlation_id"):
                found = self._events(column, [ident], max_events)
                if found:
                    break
            if not found:
                raise UnknownTraceId(
                    f"{ident!r} is no event id, aggregate id or correlation id in the lineage "
                    f"of {self.database.describe()}. Check the id; the indexer keeps a bounded "
                    "window (PIPELINE_LINEAGE_MAX_DAYS / _MAX_ROWS) and needs a few seconds to "
                    "see new events (`pipeline lineage recent` lists the latest)"
                )
            matched = {row[0] for row in found}
            seeds = found
        nodes = {row[0]: _node(row) for row in seeds}
        self._add_descendants(nodes, max_events)
        for event_id in matched:
            if event_id in nodes:
                nodes[event_id].matched = True
        self._add_effects(nodes)
        return _link(nodes)

    # -- steps --------------------------------------------------------------------------------

    def _events(self, column: str, values: list[str], limit: int | None = None) -> list[tuple]:
        rows: list[tuple] = []
        for i in range(0, len(values), _CHUNK):
            chunk = values[i:i + _CHUNK]
            sql = f"{_SELECT} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})"
            if limit is not None:
                sql += f" ORDER BY timestamp_ms LIMIT {int(limit)}"
            rows += self.database.fetchall(sql, chunk)
        return rows

    def _root_of(self, row: tuple) -> tuple:
        """The first known ancestor of an event (following causation ids)."""
        seen = {row[0]}
        for _ in range(_MAX_ANCESTORS):
            cause = row[8]
            if not cause or cause in seen:
                break
            parents = self._events("event_id", [cause])
            if not parents:
                break
            row = parents[0]
            seen.add(row[0])
        return row

    def _add_descendants(self, nodes: dict[str, TraceNode], max_events: int) -> None:
        frontier = list(nodes)
        while frontier and len(nodes) < max_events:
            children = self._events("causation_id", frontier)
            frontier = []
            for row in children:
                if row[0] not in nodes and len(nodes) < max_events:
                    nodes[row[0]] = _node(row)
                    frontier.append(row[0])

    def _add_effects(self, nodes: dict[str, TraceNode]) -> None:
        ids = list(nodes)
        if self.groups and store.exists(self.inbox, INBOX):
            for group in self.groups:
                for i in range(0, len(ids), _CHUNK):
                    chunk = ids[i:i + _CHUNK]
                    for event_id, at_ms in self.inbox.fetchall(
                        f"SELECT event_id, processed_at_ms FROM {INBOX} WHERE consumer_group = %s"
                        f" AND event_id IN ({', '.join(['%s'] * len(chunk))})",
                        [group, *chunk],
                    ):
                        nodes[event_id].effects.append(Effect(group, store.DONE, int(at_ms)))
        for i in range(0, len(ids), _CHUNK):
            chunk = ids[i:i + _CHUNK]
            for event_id, group, outcome, at_ms, detail in self.database.fetchall(
                f"SELECT {', '.join(store.EFFECT_COLUMNS)} FROM {store.EFFECTS} "
                f"WHERE event_id IN ({', '.join(['%s'] * len(chunk))})",
                chunk,
            ):
                nodes[event_id].effects.append(Effect(group, outcome, int(at_ms), detail))
        for node in nodes.values():
            node.effects.sort(key=lambda e: (e.at_ms, e.group))


def _node(row: tuple) -> TraceNode:
    (event_id, event_type, topic, partition, offset, timestamp_ms, aggregate_id, correlation_id,
     causation_id, producer) = row
    return TraceNode(event_id, event_type, topic, int(partition), int(offset), int(timestamp_ms),
                     aggregate_id, correlation_id, causation_id, producer)


def _link(nodes: dict[str, TraceNode]) -> list[TraceNode]:
    """Attach each node to its cause; the nodes without a cause in the set are the roots."""
    roots = []
    order = sorted(nodes.values(), key=lambda n: (n.timestamp_ms, n.topic, n.partition, n.offset))
    for node in order:
        parent = nodes.get(node.causation_id) if node.causation_id else None
        if parent is not None and parent is not node:
            parent.children.append(node)
        else:
            roots.append(node)
    return roots

