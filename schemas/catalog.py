"""The event catalog: every declared event, its schema, its topic and its key field.

Built from the project declaration (`schemas.project`): the `.avsc` files of its `schemas`
folders (one record per file: the record's short name is the event name, its namespace comes
from the file) and the `events = { Name = "key_field" }` of each topic in its topic catalog.
Every record carries the same metadata fields (METADATA_FIELDS). A project that uses background
tasks also gets the built-in TaskRequested event (`schemas/builtin`) on its first queue's topic,
and the topic of every queue (`task_topics`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from schemas import project as projects
from schemas.errors import ConfigError, PipelineError

# The metadata every event record carries, as Avro declares it: the one definition that
# scaffolding, tests and examples build schemas from.
METADATA_AVRO_FIELDS = (
    {"name": "event_id", "type": "string",
     "doc": "UUID of this event; derived events use a deterministic id."},
    {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-millis"},
     "doc": "When the domain change happened (UTC)."},
    {"name": "aggregate_id", "type": "string",
     "doc": "Id of the aggregate the event belongs to; also the Kafka key."},
    {"name": "aggregate_version", "type": "long",
     "doc": "Per-aggregate sequence number, strictly increasing."},
    {"name": "correlation_id", "type": "string",
     "doc": "Id shared by every event of one business flow."},
    {"name": "causation_id", "type": ["null", "string"], "default": None,
     "doc": "event_id of the event that caused this one, if any."},
    {"name": "producer", "type": "string",
     "doc": "Name of the service that produced the event."},
)
METADATA_FIELDS = tuple(f["name"] for f in METADATA_AVRO_FIELDS)


def event_schema(name: str, namespace: str, fields: Iterable[dict]) -> dict:
    """An event's Avro record: the metadata fields, then its own `fields`."""
    return {
        "type": "record", "name": name, "namespace": namespace,
        "fields": [*(dict(f) for f in METADATA_AVRO_FIELDS), *fields],
    }

# Kafka headers that repeat metadata so routers never decode to route.
HEADER_EVENT_TYPE = "event_type"
HEADER_EVENT_ID = "event_id"
HEADER_CORRELATION_ID = "correlation_id"
HEADER_TRACEPARENT = "traceparent"


class UnknownEventType(PipelineError, KeyError):
    """An event name that the catalog does not declare; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class EventType:
    name: str
    topic: str
    key_field: str
    full_name: str
    schema_path: Path

    @property
    def subject(self) -> str:
        """Registry subject under the TopicRecordNameStrategy (see SUBJECTS.md)."""
        return f"{self.topic}-{self.full_name}"

    def schema_str(self) -> str:
        return _read_schema(self.schema_path)

    def schema_dict(self) -> dict:
        return json.loads(self.schema_str())


class Catalog:
    """The events of one project, by name."""

    def __init__(self, event_types: Iterable[EventType], task_topics: Iterable[str] = ()):
        self.event_types: dict[str, EventType] = {e.name: e for e in event_types}
        # Every task queue's topic; TaskRequested's own `topic` is the first queue's.
        self.task_topics: tuple[str, ...] = tuple(task_topics)

    def event_type(self, name: str) -> EventType:
        try:
            return self.event_types[name]
        except KeyError:
            known = ", ".join(sorted(self.event_types)) or "(none declared)"
            raise UnknownEventType(
                f"unknown event type {name!r}; known types: {known}. Declare it with an .avsc "
                "file in a `schemas` folder and list it under its topic's `events`"
            ) from None

    def topics(self) -> list[str]:
        return sorted({e.topic for e in self.event_types.values()} | set(self.task_topics))

    def events_on(self, topic: str) -> list[EventType]:
        if topic in self.task_topics:
            return [self.event_types[projects.TASK_EVENT]]
        return [e for e in self.event_types.values() if e.topic == topic]

    def full_names(self) -> list[str]:
        return [e.full_name for e in self.event_types.values()]


def build(schema_dirs: Iterable[Path], topics_file: Path) -> Catalog:
    """Discover the events; each inconsistency is an error naming the file and the fix."""
    schemas: dict[str, tuple[str, Path]] = {}  # short name -> (full name, file)
    for folder in schema_dirs:
        for path in sorted(Path(folder).glob("*.avsc")):
            short, full = _record_names(path)
            if short in schemas:
                raise ConfigError(
                    f"two events named {short!r}: {schemas[short][1]} and {path}; event names "
                    "must be unique across namespaces, rename one record"
                )
            schemas[short] = (full, path)
    routes = _routes(topics_file)
    events = []
    for name, (topic, key_field) in routes.items():
        if name not in schemas:
            raise ConfigError(
                f"{topics_file}: topic {topic!r} lists event {name!r}, but no .avsc in the "
                "`schemas` folders defines a record of that name; add its schema or fix the name"
            )
        full, path = schemas[name]
        fields = _field_names(path)
        if key_field not in fields:
            raise ConfigError(
                f"{topics_file}: topic {topic!r} keys {name} by {key_field!r}, which is not a "
                f"field of {path.name}; use one of {sorted(fields)}"
            )
        events.append(EventType(name, topic, key_field, full, path))
    unrouted = sorted(set(schemas) - set(routes))
    if unrouted:
        files = ", ".join(str(schemas[n][1]) for n in unrouted)
        raise ConfigError(
            f"events in no topic: {', '.join(unrouted)} ({files}); list each under a topic's "
            f"`events = {{ Name = \"key_field\" }}` in {topics_file}"
        )
    return Catalog(events)


def _record_names(path: Path) -> tuple[str, str]:
    try:
        schema = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable Avro schema ({exc}); fix the JSON") from None
    if not isinstance(schema, dict) or schema.get("type") != "record" or not schema.get("name"):
        raise ConfigError(f"{path}: an event schema must be one Avro record with a `name`")
    name = schema["name"]
    namespace = schema.get("namespace")
    full = name if "." in name or not namespace else f"{namespace}.{name}"
    short = full.rsplit(".", 1)[-1]
    missing = [f for f in METADATA_FIELDS if f not in _field_names(path)]
    if missing:
        raise ConfigError(
            f"{path}: record {short} lacks the metadata fields {missing}; every event carries "
            f"{', '.join(METADATA_FIELDS)} (`pipeline schemas new` writes them)"
        )
    return short, full


def _field_names(path: Path) -> set[str]:
    return {f.get("name") for f in json.loads(path.read_text()).get("fields", [])}


def _routes(topics_file: Path) -> dict[str, tuple[str, str]]:
    try:
        with open(topics_file, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{topics_file}: cannot read the topic catalog ({exc})") from None
    routes: dict[str, tuple[str, str]] = {}
    for topic, entry in data.get("topics", {}).items():
        events = entry.get("events", {}) if isinstance(entry, dict) else {}
        if not isinstance(events, dict):
            raise ConfigError(
                f"{topics_file}: topic {topic!r}: `events` must be a table "
                "{ EventName = \"key_field\" }"
            )
        for name, key_field in events.items():
            if not isinstance(key_field, str):
                raise ConfigError(
                    f"{topics_file}: topic {topic!r}: event {name!r} needs its key field as a "
                    f"string, got {key_field!r}"
                )
            if name in routes:
                raise ConfigError(
                    f"{topics_file}: event {name!r} is listed on {routes[name][0]!r} and on "
                    f"{topic!r}; an event belongs to one topic"
                )
            routes[name] = (topic, key_field)
    return routes


@cache
def _for(project: projects.Project) -> Catalog:
    catalog = build(project.schemas, project.topics)
    if not project.uses_tasks:
        return catalog
    return with_tasks(catalog, project.task_queues)


def with_tasks(catalog: Catalog, queues: Iterable[str]) -> Catalog:
    """`catalog` plus the built-in task request event and the topic of each queue."""
    topics = [projects.task_topic(q) for q in queues]
    name = projects.TASK_EVENT
    if name in catalog.event_types:
        raise ConfigError(
            f"the project declares an event named {name!r}, the name of the built-in task "
            "request event; rename your event"
        )
    path = projects.BUILTIN_SCHEMAS / f"{name}.avsc"
    _short, full = _record_names(path)
    builtin = EventType(name, topics[0], "root_id", full, path)
    return Catalog([*catalog.event_types.values(), builtin], topics)


def current() -> Catalog:
    """The catalog of this process's project."""
    return _for(projects.current())


def event_type(name: str) -> EventType:
    return current().event_type(name)


def event_types() -> dict[str, EventType]:
    return current().event_types


def topics() -> list[str]:
    return current().topics()


def events_on(topic: str) -> list[EventType]:
    return current().events_on(topic)


@cache
def _read_schema(path: Path) -> str:
    # Compact JSON: the exact string we register is the one serializers look up, and
    # registries compare it verbatim.
    return json.dumps(json.loads(path.read_text()), separators=(",", ":"))
