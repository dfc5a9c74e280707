"""The declarative topic catalog and `pipeline topics apply|list`.

`plan()` compares the catalog with the cluster and returns the changes; `apply()` performs the
safe ones. Destructive changes (fewer partitions, a changed cleanup policy on a topic that holds
data, another replication factor) are refused with the reason, never performed.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from schemas.config import ConnectionSettings
from schemas.errors import ConfigError, PipelineError, ServiceUnavailable

_TOPIC_KEYS = {
    "events", "partitions", "replication_factor", "cleanup_policy", "retention_ms", "config",
}
# Topics the pipeline adds for each declared worker (`worker-<name>.retry.N`, `.dlq`) and stream
# app (`streams-<name>.dlq`): retry topics keep the defaults, dead letters are kept forever.
RETRY_TOPICS_PER_WORKER = 3
_DEAD_LETTER_RETENTION_MS = -1
CONVERGE_TIMEOUT_S = 30
_CLEANUP_POLICIES = {"delete", "compact", "compact,delete"}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    cleanup_policy: str
    retention_ms: int
    extra_config: dict = field(default_factory=dict)

    def configs(self) -> dict[str, str]:
        configs = {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}
        configs.update({k: str(v) for k, v in self.extra_config.items()})
        return configs


def project_catalog(project=None) -> list[TopicSpec]:
    """The project's topic catalog plus the retry and dead-letter topics of its workers and
    stream apps, and the topic of each task queue (a catalog entry of the same name wins)."""
    from schemas import project as projects

    project = project or projects.current()
    specs = load_catalog(project.topics)
    defaults = _defaults(project.topics)
    named = {s.name for s in specs}
    derived = [projects.task_topic(q) for q in project.task_queues]
    for worker in project.workers.values():
        derived += [f"{worker.group}.retry.{n}" for n in range(1, RETRY_TOPICS_PER_WORKER + 1)]
        derived.append(f"{worker.group}.dlq")
    derived += [f"{stream.app_id}.dlq" for stream in project.streams.values()]
    for name in derived:
        if name in named:
            continue
        retention = _DEAD_LETTER_RETENTION_MS if name.endswith(".dlq") else defaults["retention_ms"]
        specs.append(
            TopicSpec(name, int(defaults["partitions"]), int(defaults["replication_factor"]),
                      "delete", int(retention))
        )
    return specs


_BUILTIN_DEFAULTS = {"partitions": 3, "replication_factor": 1, "cleanup_policy": "delete",
                     "retention_ms": 604800000}


def _defaults(path: Path) -> dict:
    with open(path, "rb") as fh:
        return {**_BUILTIN_DEFAULTS, **tomllib.load(fh).get("defaults", {})}


def load_catalog(path: Path) -> list[TopicSpec]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the topic catalog") from None
    unknown = set(data) - {"defaults", "topics"}
    if unknown:
        raise ConfigError(f"{path.name}: unknown top-level keys {sorted(unknown)}")
    defaults = {**_BUILTIN_DEFAULTS, **data.get("defaults", {})}
    _check_keys(defaults, "[defaults]", path)
    specs = []
    for name, entry in data.get("topics", {}).items():
        _check_keys(entry, f"[topics.{name!r}]", path)
        merged = {**defaults, **entry}
        missing = {"partitions", "replication_factor", "cleanup_policy", "retention_ms"} - set(
            merged
        )
        if missing:
            raise ConfigError(f"{path.name}: topic {name!r} lacks {sorted(missing)}")
        if merged["cleanup_policy"] not in _CLEANUP_POLICIES:
            raise ConfigError(
                f"{path.name}: topic {name!r} has cleanup_policy {merged['cleanup_policy']!r}; "
                f"use one of {sorted(_CLEANUP_POLICIES)}"
            )
        specs.append(
            TopicSpec(
                name=name,
                partitions=int(merged["partitions"]),
                replication_factor=int(merged["replication_factor"]),
                cleanup_policy=merged["cleanup_policy"],
                retention_ms=int(merged["retention_ms"]),
                extra_config=dict(merged.get("config", {})),
            )
        )
    return specs


def _check_keys(entry: dict, where: str, path: Path) -> None:
    unknown = set(entry) - _TOPIC_KEYS
    if unknown:
        raise ConfigError(
            f"{path.name} {where}: unknown keys {sorted(unknown)}; "
            f"known keys: {sorted(_TOPIC_KEYS)}"
        )


@dataclass
class TopicPlan:
    name: str
    action: str  # "create", "update", "ok", "refused"
    changes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    spec: TopicSpec | None = None
    new_partitions: int | None = None
    config_updates: dict[str, str] = field(default_factory=dict)


class DestructiveChangeRefused(PipelineError):
    """The catalog asks for a change that would lose data or ordering."""


def describe_cluster(admin: AdminClient, settings: ConnectionSettings):
    """Cluster metadata, or ServiceUnavailable naming the address within `timeout_s`."""
    try:
        return admin.list_topics(timeout=settings.timeout_s)
    except KafkaException as exc:
        raise ServiceUnavailable(
            "Kafka broker",
            settings.bootstrap_servers,
            str(exc.args[0]) if exc.args else str(exc),
            "Start the local stack with `pipeline up`, or set KAFKA_BOOTSTRAP_SERVERS",
        ) from exc


def for_replication(specs: list[TopicSpec], replication_factor: int | None) -> list[TopicSpec]:
    """The catalog on a cluster of a known shape (the local stack's: min(3, brokers)): every
    topic gets that replication factor, and `min.insync.replicas` 2 at 3 replicas unless the
    topic's `config` names its own. None: the catalog's own replication factors."""
    if replication_factor is None:
        return specs
    shaped = []
    for spec in specs:
        extra = dict(spec.extra_config)
        if replication_factor >= 3:
            extra.setdefault("min.insync.replicas", 2)
        shaped.append(replace(spec, replication_factor=replication_factor, extra_config=extra))
    return shaped


def _replication(settings: ConnectionSettings, replication_factor: int | None) -> int | None:
    if replication_factor is not None:
        return replication_factor
    from deploy.runtime.cluster import local_replication_factor

    return local_replication_factor(settings.bootstrap_servers)


def plan(
    settings: ConnectionSettings, specs: list[TopicSpec], replication_factor: int | None = None
) -> list[TopicPlan]:
    """`replication_factor`: the cluster's shape (see `for_replication`); None: the local
    stack's when `settings` point at it, else the catalog's."""
    specs = for_replication(specs, _replication(settings, replication_factor))
    admin = AdminClient(settings.kafka_conf())
    metadata = describe_cluster(admin, settings)
    existing = {name: t for name, t in metadata.topics.items()}
    present = [s for s in specs if s.name in existing]
    current_configs = describe_configs(admin, [s.name for s in present])
    plans = []
    for spec in specs:
        if spec.name not in existing:
            plans.append(
                TopicPlan(
                    spec.name, "create", [f"create with {spec.partitions} partitions"], spec=spec
                )
            )
            continue
        topic = existing[spec.name]
        p = TopicPlan(spec.name, "ok", spec=spec)
        have_partitions = len(topic.partitions)
        if spec.partitions > have_partitions:
            p.new_partitions = spec.partitions
            p.changes.append(f"partitions {have_partitions} -> {spec.partitions}")
        elif spec.partitions < have_partitions:
            p.refusals.append(
                f"catalog asks for {spec.partitions} partitions but the topic has "
                f"{have_partitions}; Kafka cannot remove partitions without losing data and "
                "per-key order (create a new topic and migrate instead)"
            )
        replicas = len(next(iter(topic.partitions.values())).replicas) if topic.partitions else 0
        if replicas and replicas != spec.replication_factor:
            p.refusals.append(
                f"replication factor is {replicas}, catalog says {spec.replication_factor}; "
                "changing it needs a partition reassignment, which this tool does not do"
            )
        have = current_configs.get(spec.name, {})
        for key, want in spec.configs().items():
            if have.get(key) != want:
                if key == "cleanup.policy" and _has_data(settings, spec.name, topic):
                    p.refusals.append(
                        f"cleanup.policy is {have.get(key)!r}, catalog says {want!r}; the topic "
                        "holds data, and changing the policy would compact away or expire records "
                        "that readers rely on (create a new topic instead)"
                    )
                    continue
                p.config_updates[key] = want
                p.changes.append(f"{key} {have.get(key)!r} -> {want!r}")
        if p.refusals:
            p.action = "refused"
        elif p.changes:
            p.action = "update"
        plans.append(p)
    return plans


def apply(
    settings: ConnectionSettings, specs: list[TopicSpec], replication_factor: int | None = None
) -> list[TopicPlan]:
    """Bring the cluster in line with the catalog. Raises if any change is refused.

    Refusals are checked before anything is changed, so a refused run changes nothing.
    `replication_factor` as for `plan`.
    """
    rf = _replication(settings, replication_factor)
    specs = for_replication(specs, rf)
    plans = plan(settings, specs, rf)
    admin = AdminClient(settings.kafka_conf())
    refused = [p for p in plans if p.action == "refused"]
    if refused:
        lines = [f"{p.name}: {r}" for p in refused for r in p.refusals]
        raise DestructiveChangeRefused(
            "refusing destructive topic changes:\n  " + "\n  ".join(lines)
        )
    creates = [
        NewTopic(
            p.spec.name,
            num_partitions=p.spec.partitions,
            replication_factor=p.spec.replication_factor,
            config=p.spec.configs(),
        )
        for p in plans
        if p.action == "create"
    ]
    if creates:
        _wait_all(admin.create_topics(creates, operation_timeout=30))
    grows = [NewPartitions(p.name, p.new_partitions) for p in plans if p.new_partitions]
    if grows:
        _wait_all(admin.create_partitions(grows, operation_timeout=30))
    alters = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            p.name,
            incremental_configs=[
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                for k, v in p.config_updates.items()
            ],
        )
        for p in plans
        if p.config_updates
    ]
    if alters:
        _wait_all(admin.incremental_alter_configs(alters))
    if creates or grows or alters:
        _wait_until_visible(settings, specs, rf)
    return plans


def _wait_until_visible(settings: ConnectionSettings, specs: list[TopicSpec], rf) -> None:
    """Return once the broker's metadata shows every change, so that a `list` or a client
    started right after `apply` sees the new topics, partitions and configs."""
    deadline = time.monotonic() + CONVERGE_TIMEOUT_S
    while True:
        pending = [p.name for p in plan(settings, specs, rf) if p.action != "ok"]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise PipelineError(
                f"the broker did not show the applied changes within {CONVERGE_TIMEOUT_S}s "
                f"for {pending}; run `pipeline topics list` to see the current state"
            )
        time.sleep(0.3)


def describe_configs(admin: AdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    if not names:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    result = {}
    for resource, future in admin.describe_configs(resources).items():
        entries = future.result(timeout=30)
        result[resource.name] = {k: e.value for k, e in entries.items()}
    return result


def _has_data(settings: ConnectionSettings, name: str, topic) -> bool:
    consumer = Consumer(settings.kafka_conf(**{"group.id": "pipeline-topics-probe"}))
    try:
        for pid in topic.partitions:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(name, pid), timeout=settings.timeout_s
            )
            if high > low:
                return True
        return False
    finally:
        consumer.close()


def _wait_all(futures: dict) -> None:
    for future in futures.values():
        try:
            future.result(timeout=60)
        except KafkaException as exc:
            # Another `apply` (or a lagging metadata view) created it first: same outcome.
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
