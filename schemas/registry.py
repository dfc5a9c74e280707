"""Registering catalog schemas and checking changes against the registry.

Every subject is set to BACKWARD_TRANSITIVE. `check` asks the registry for its verdict against
every registered version and uses `schemas.compat` to name the offending field.

Registration is idempotent and safe to run concurrently (two `pipeline up`, two test sessions on
one registry): a 409 "already exists" from a racing writer counts as success once the registry
shows the state we asked for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas import catalog
from schemas.compat import backward_problems
from schemas.config import ConnectionSettings
from schemas.errors import CompatibilityError, ServiceUnavailable

COMPATIBILITY = "BACKWARD_TRANSITIVE"
_SUBJECT_NOT_FOUND = 40401
_CONFLICT = 409


def connect(settings: ConnectionSettings, *, check: bool = True) -> SchemaRegistryClient:
    """A registry client; with `check`, fail within seconds if the registry does not answer."""
    if check:
        ping(settings)
    return SchemaRegistryClient(settings.registry_conf())


def ping(settings: ConnectionSettings) -> None:
    url = settings.schema_registry_url.rstrip("/") + "/subjects"
    try:
        response = httpx.get(url, timeout=settings.timeout_s)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            "schema registry",
            settings.schema_registry_url,
            f"{type(exc).__name__}: {exc}",
            "Start the local stack with `pipeline up`, or set SCHEMA_REGISTRY_URL to a "
            "Confluent-compatible registry",
        ) from exc
    if response.status_code != 200:
        raise ServiceUnavailable(
            "schema registry",
            settings.schema_registry_url,
            f"GET /subjects answered HTTP {response.status_code}",
            "Check that SCHEMA_REGISTRY_URL points at the Confluent-compatible API "
            "(for Apicurio: .../apis/ccompat/v7)",
        )


@dataclass(frozen=True)
class SubjectReport:
    subject: str
    status: str  # "new", "unchanged", "compatible", "incompatible"
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status != "incompatible"


def register_all(client: SchemaRegistryClient, event_types=None) -> list[tuple[str, int]]:
    """Register every catalog schema (idempotent); returns `(subject, schema_id)` pairs."""
    results = []
    for spec in event_types or catalog.event_types().values():
        report = check_one(client, spec.subject, spec.schema_str())
        if not report.ok:
            raise CompatibilityError(_describe(report))
        set_compatibility(client, spec.subject)
        schema_id = register(client, spec.subject, Schema(spec.schema_str(), "AVRO"))
        results.append((spec.subject, schema_id))
    return results


def set_compatibility(client: SchemaRegistryClient, subject: str) -> None:
    """Set the subject's level to COMPATIBILITY; a concurrent writer's 409 counts as done when
    the level it left is ours (Apicurio answers 409 when two writers create the rule at once)."""
    try:
        client.set_compatibility(subject, COMPATIBILITY)
    except SchemaRegistryError as exc:
        if exc.http_status_code != _CONFLICT:
            raise
        if client.get_compatibility(subject) != COMPATIBILITY:
            client.set_compatibility(subject, COMPATIBILITY)  # the rule exists now: an update


def register(client: SchemaRegistryClient, subject: str, schema: Schema) -> int:
    """Register `schema` under `subject` and return its id; a 409 from a concurrent writer that
    registered the same schema first returns that schema's id."""
    try:
        return client.register_schema(subject, schema)
    except SchemaRegistryError as exc:
        if exc.http_status_code != _CONFLICT:
            raise
        return client.lookup_schema(subject, schema).schema_id


def check_all(
    client: SchemaRegistryClient, event_types=None, schema_dir: Path | None = None
) -> list[SubjectReport]:
    """Check each catalog schema (or its namesake in `schema_dir`) against the registry."""
    reports = []
    for spec in event_types or catalog.event_types().values():
        path = schema_dir / spec.schema_path.name if schema_dir else spec.schema_path
        if schema_dir and not path.exists():
            path = spec.schema_path
        reports.append(check_one(client, spec.subject, path.read_text()))
    return reports


def check_one(client: SchemaRegistryClient, subject: str, schema_str: str) -> SubjectReport:
    try:
        versions = client.get_versions(subject)
    except SchemaRegistryError as exc:
        if exc.http_status_code == 404:
            return SubjectReport(subject, "new")
        raise
    new = json.loads(schema_str)
    problems: list[str] = []
    unchanged = False
    for version in versions:
        registered = client.get_version(subject, version).schema.schema_str
        old = json.loads(registered)
        if old == new:
            unchanged = True
        problems += [f"v{version}: {p}" for p in backward_problems(new, old)]
    registry_ok = client.test_compatibility(subject, Schema(schema_str, "AVRO"))
    if not registry_ok and not problems:
        problems.append("the registry reports the change as incompatible under " + COMPATIBILITY)
    if problems:
        return SubjectReport(subject, "incompatible", tuple(dict.fromkeys(problems)))
    return SubjectReport(subject, "unchanged" if unchanged else "compatible")


def _describe(report: SubjectReport) -> str:
    lines = [f"{report.subject}: change breaks readers ({COMPATIBILITY}):"]
    lines += [f"  - {p}" for p in report.problems]
    return "\n".join(lines)


def describe_failures(reports: list[SubjectReport]) -> str:
    return "\n".join(_describe(r) for r in reports if not r.ok)
