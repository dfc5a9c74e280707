"""The role table (`deploy/roles.toml`) turned into principals with concrete ACL bindings.

    roles = load()                        # {name: Role}, every key checked
    scope = Scope.of(project.current())   # the project's event topics, workers, stream apps
    for p in principals(roles, scope):    # relay, worker-<name>..., worker, streams-<name>...
        p.name, p.role, p.acls            # Acl(resource, name, pattern, operations)

The same principals feed the local cluster (`deploy.security.apply`) and the Strimzi export
(`deploy.strimzi`), so both always say the same thing.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schemas.errors import ConfigError

ROLES_FILE = Path(__file__).resolve().parent.parent / "roles.toml"
RESOURCES = ("topic", "group", "cluster", "transactional_id")
PATTERNS = ("literal", "prefix")
OPERATIONS = (
    "Read", "Write", "Create", "Delete", "Alter", "Describe", "DescribeConfigs", "AlterConfigs",
    "IdempotentWrite", "ClusterAction", "All",
)
PER = {"worker": "worker", "stream": "streams"}  # `per` value -> principal name prefix
_ROLE_KEYS = {"description", "per", "components", "superuser", "acls"}
_ACL_KEYS = {"resource", "name", "pattern", "operations"}
_PLACEHOLDERS = ("{event_topics}", "{group}", "{app_id}")


class RoleTableError(ConfigError):
    """deploy/roles.toml is invalid; the message names the role, key and the fix."""


@dataclass(frozen=True)
class Acl:
    resource: str
    name: str
    operations: tuple[str, ...]
    pattern: str = "literal"


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    acls: tuple[Acl, ...]
    per: str | None = None
    components: tuple[str, ...] = ()
    superuser: bool = False


@dataclass(frozen=True)
class Principal:
    """A SCRAM user: `name` is also the component (and group) it serves, for per-instance
    principals; `components` are the stack's components that connect as it."""

    name: str
    role: str
    acls: tuple[Acl, ...]
    components: tuple[str, ...] = ()
    superuser: bool = False


@dataclass(frozen=True)
class Scope:
    """What the placeholders stand for in one project."""

    event_topics: tuple[str, ...]
    workers: Mapping[str, str] = field(default_factory=dict)  # name -> group
    streams: Mapping[str, str] = field(default_factory=dict)  # name -> app id

    @classmethod
    def of(cls, project) -> Scope:
        from deploy import topics
        from schemas import project as projects

        catalog = [spec.name for spec in topics.load_catalog(project.topics)]
        queues = [projects.task_topic(q) for q in project.task_queues]
        return cls(
            event_topics=tuple(dict.fromkeys(catalog + queues)),
            workers={name: spec.group for name, spec in project.workers.items()},
            streams={name: spec.app_id for name, spec in project.streams.items()},
        )


def load(path: Path = ROLES_FILE) -> dict[str, Role]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RoleTableError(f"{path}: cannot be read as TOML ({exc}); fix the role table") from exc
    unknown = set(data) - {"roles"}
    if unknown:
        raise RoleTableError(f"{path.name}: unknown top-level keys {sorted(unknown)}; only [roles]")
    roles = {name: _role(name, entry, path) for name, entry in data.get("roles", {}).items()}
    if not any(r.superuser for r in roles.values()):
        raise RoleTableError(f"{path.name}: no role has `superuser = true`; the stack needs one "
                             "to create users and ACLs (the `admin` role)")
    return roles


def principals(roles: Mapping[str, Role], scope: Scope) -> list[Principal]:
    """Every principal of the project, in table order; per-instance ones after their role's."""
    found = []
    for role in roles.values():
        if role.per is None:
            found.append(Principal(role.name, role.name, _expand(role.acls, scope, {}),
                                   role.components, role.superuser))
            continue
        instances = scope.workers if role.per == "worker" else scope.streams
        union: list[Acl] = []
        mine = []
        for name, ident in instances.items():
            values = {"{group}": ident} if role.per == "worker" else {"{app_id}": ident}
            acls = _expand(role.acls, scope, values)
            union += acls
            mine.append(Principal(f"{PER[role.per]}-{name}", role.name, acls,
                                  (f"{PER[role.per]}-{name}", *role.components), role.superuser))
        found.append(Principal(role.name, role.name, tuple(dict.fromkeys(union)), (),
                               role.superuser))
        found.extend(mine)
    return found


def for_component(found: list[Principal], component: str) -> Principal | None:
    """The principal a stack component connects as, None when the table names none."""
    return next((p for p in found if component in p.components), None)


def _expand(templates: tuple[Acl, ...], scope: Scope, values: Mapping[str, str]) -> tuple:
    acls = []
    for acl in templates:
        if "{event_topics}" in acl.name:
            names = [acl.name.replace("{event_topics}", t) for t in scope.event_topics]
        else:
            names = [acl.name]
        for name in names:
            for placeholder, value in values.items():
                name = name.replace(placeholder, value)
            acls.append(Acl(acl.resource, name, acl.operations, acl.pattern))
    return tuple(dict.fromkeys(acls))


def _role(name: str, entry: dict, path: Path) -> Role:
    where = f"{path.name} [roles.{name}]"
    unknown = set(entry) - _ROLE_KEYS
    if unknown:
        raise RoleTableError(
            f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_ROLE_KEYS)}"
        )
    per = entry.get("per")
    if per is not None and per not in PER:
        raise RoleTableError(f"{where}: per = {per!r}; use one of {sorted(PER)} or leave it out")
    acls = tuple(_acl(i, acl, where, per) for i, acl in enumerate(entry.get("acls", [])))
    return Role(
        name=name,
        description=str(entry.get("description", "")),
        acls=acls,
        per=per,
        components=tuple(entry.get("components", ())),
        superuser=bool(entry.get("superuser", False)),
    )


def _acl(index: int, entry: dict, where: str, per: str | None) -> Acl:
    where = f"{where} acls[{index}]"
    unknown = set(entry) - _ACL_KEYS
    missing = {"resource", "name", "operations"} - set(entry)
    if unknown or missing:
        raise RoleTableError(
            f"{where}: unknown keys {sorted(unknown)}, missing {sorted(missing)}; "
            f"an ACL has {sorted(_ACL_KEYS)}"
        )
    resource, pattern = entry["resource"], entry.get("pattern", "literal")
    if resource not in RESOURCES:
        raise RoleTableError(f"{where}: resource {resource!r}; use one of {list(RESOURCES)}")
    if pattern not in PATTERNS:
        raise RoleTableError(f"{where}: pattern {pattern!r}; use one of {list(PATTERNS)}")
    bad = [op for op in entry["operations"] if op not in OPERATIONS]
    if bad or not entry["operations"]:
        raise RoleTableError(f"{where}: operations {bad or '[]'} unknown; use {list(OPERATIONS)}")
    name = str(entry["name"])
    allowed = {"worker": "{group}", "stream": "{app_id}"}.get(per or "")
    for placeholder in _PLACEHOLDERS:
        if placeholder in name and placeholder not in ("{event_topics}", allowed):
            raise RoleTableError(
                f"{where}: {placeholder} only means something in a role with "
                f"per = {'worker' if placeholder == '{group}' else 'stream'}"
            )
    return Acl(resource, name, tuple(entry["operations"]), pattern)
