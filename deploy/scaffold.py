"""`pipeline init` and `pipeline schemas new`: scaffolding for a user's Django project.

`init_project()` adds a `[tool.event-pipeline]` declaration to the pyproject.toml beside a
Django project's manage.py, with a topic catalog and one example event. `new_event()` adds one
event: its `.avsc` file and its line in the topic catalog.

Both are careful with the user's files: an existing file is never overwritten, the topic
catalog is edited as text (so its comments and layout survive) and read back to prove the edit,
and when the resulting declaration or catalog does not load, every change is undone and the
reason reported.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from schemas import catalog
from schemas import project as projects
from schemas.errors import PipelineError

T = TypeVar("T")
# The metadata every event record carries (catalog.METADATA_FIELDS), as Avro fields.

EXAMPLE_EVENT = "ExampleRecorded"
EXAMPLE_KEY = "example_id"

# `--field name:type[?][:pii]` types: Avro primitives plus timestamps.
_FIELD_TYPES = {
    "string": "string",
    "int": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "bytes": "bytes",
    "timestamp": {"type": "long", "logicalType": "timestamp-millis"},
}
_AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AVRO_NAMESPACE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
_SETTINGS_IN_MANAGE_PY = re.compile(
    r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z_][\w.]*)['"]"""
)
_HEADER = re.compile(r"^\s*\[(?!\[)(?P<path>[^\]]+)\]\s*(#.*)?$")
_KEY_PART = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*(\.|$)""")


class ScaffoldError(PipelineError):
    """A scaffolding command refused to change the project; the message says why and the fix."""


# -- undoable file changes ----------------------------------------------------------------------


class _Changes:
    """The files one command creates or rewrites; leaving the `with` block by an exception
    undoes them all, so a refused or failed command leaves the project as it was."""

    def __init__(self):
        self._created: list[Path] = []
        self._originals: dict[Path, str] = {}

    def __enter__(self) -> _Changes:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.undo()

    def create(self, path: Path, text: str) -> None:
        if path.exists():
            raise ScaffoldError(f"{path} already exists; not overwriting it")
        self.mkdir(path.parent)
        path.write_text(text)
        self._created.append(path)

    def mkdir(self, path: Path) -> None:
        missing = [p for p in (*reversed(path.parents), path) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        self._created.extend(missing)

    def rewrite(self, path: Path, text: str) -> None:
        self._originals.setdefault(path, path.read_text())
        path.write_text(text)

    def undo(self) -> None:
        for path, text in self._originals.items():
            path.write_text(text)
        for path in reversed(self._created):
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            else:
                path.unlink(missing_ok=True)


def _check(load: Callable[[], T], what: str) -> T:
    """Prove the changed files load; a failure names why (and undoes, via _Changes)."""
    try:
        return load()
    except PipelineError as exc:
        raise ScaffoldError(f"{what} would not load, so nothing was changed: {exc}") from exc


# -- pipeline init -----------------------------------------------------------------------------


def init_project(
    directory: Path, *, force: bool = False, settings: str | None = None, out=print
) -> projects.Project:
    """Declare the Django project in `directory` (where manage.py is); returns the Project."""
    root = Path(directory).resolve()
    settings = settings or _settings_module(root)
    package = settings.split(".")[0] if "." in settings else None
    name = package or "project"
    events_dir = root / package / "events" if package else root / "events"
    schemas_dir = events_dir / "avro"
    topics_file = events_dir / "topics.toml"
    pyproject = root / "pyproject.toml"

    existing = pyproject.read_text() if pyproject.exists() else None
    if existing is not None and _declares(existing, pyproject) and not force:
        raise ScaffoldError(
            f"{pyproject} already has a [{projects.TABLE}] table; edit it, or run "
            "`pipeline init --force` to replace it"
        )
    web = None
    if package and (root / package / "wsgi.py").is_file():
        web = f"{package}.wsgi:application"
    declaration = _declaration_text(
        settings, _rel(schemas_dir, root), _rel(topics_file, root), web
    )

    done = []  # reported once everything loads
    with _Changes() as changes:
        if topics_file.exists():
            done.append(f"kept      {_rel(topics_file, root)} (exists)")
        else:
            changes.create(topics_file, _topic_catalog_text(name, f"{name}.examples"))
            done.append(f"wrote     {_rel(topics_file, root)}")
            example = schemas_dir / f"{EXAMPLE_EVENT}.avsc"
            if example.exists():
                done.append(f"kept      {_rel(example, root)} (exists)")
            else:
                text = _schema_text(EXAMPLE_EVENT, f"{name}.events", [_field(EXAMPLE_KEY)],
                                    doc="An example event; replace it with yours.")
                changes.create(example, text)
                done.append(f"wrote     {_rel(example, root)}")
        changes.mkdir(schemas_dir)
        if existing is None:
            changes.create(pyproject, declaration.lstrip("\n"))
        else:
            changes.rewrite(pyproject, _with_declaration(existing, declaration, pyproject))
        done.append(f"declared  [{projects.TABLE}] in {_rel(pyproject, root)}")
        project = _check(lambda: projects.load(pyproject), f"the declaration in {pyproject}")
        _check(lambda: catalog.build(project.schemas, project.topics), "its event catalog")

    for line in done:
        out(line)
    _print_next_steps(root, settings, out)
    return project


def _print_next_steps(root: Path, settings: str, out) -> None:
    out("")
    out("Next steps:")
    steps = []
    settings_file = _module_file(root, settings)
    if settings_file is None or "producer_django.events" not in settings_file.read_text():
        where = _rel(settings_file, root) if settings_file else settings
        steps.append(f'add "producer_django.events" to INSTALLED_APPS in {where}')
    steps += ["python manage.py migrate", "pipeline up"]
    for number, step in enumerate(steps, start=1):
        out(f"  {number}. {step}")
    out(f'  then publish: publish("{EXAMPLE_EVENT}", {{"{EXAMPLE_KEY}": "1"}}) '
        "(from producer_django.events.publish import publish)")
    out("  add an event: pipeline schemas new NAME --topic TOPIC --key FIELD --field FIELD:string")


def _settings_module(root: Path) -> str:
    manage = root / "manage.py"
    if not manage.is_file():
        raise ScaffoldError(
            f"no manage.py in {root}; run `pipeline init` in your Django project's folder "
            "(where manage.py is), or pass --dir"
        )
    found = _SETTINGS_IN_MANAGE_PY.search(manage.read_text())
    if not found:
        raise ScaffoldError(
            f"{manage} does not set DJANGO_SETTINGS_MODULE; pass --settings "
            "yourproject.settings"
        )
    return found.group(1)


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _declaration_text(settings: str, schemas_dir: str, topics_file: str, web: str | None) -> str:
    web_line = f"web = {json.dumps(web)}\n" if web else ""
    return (
        "\n"
        "# The event pipeline (`pipeline up`, `pipeline schemas new`, ...) reads this table.\n"
        f"[{projects.TABLE}]\n"
        f"django_settings = {json.dumps(settings)}\n"
        f"schemas = [{json.dumps(schemas_dir)}]\n"
        f"topics = {json.dumps(topics_file)}\n"
        f"{web_line}"
        "\n"
        "# Consumer-group workers, name -> handler class or factory:\n"
        f"# [{projects.TABLE}.workers]\n"
        '# examples = "yourapp.handlers:ExampleHandler"\n'
        "\n"
        "# Faust stream apps, name -> app (needs event-pipeline[streams]):\n"
        f"# [{projects.TABLE}.streams]\n"
        '# totals = "yourapp.streams:app"\n'
    )


def _topic_catalog_text(project_name: str, topic: str) -> str:
    return (
        f"# The topic catalog of {project_name}: every topic your events go to, with the events\n"
        "# on each and their key field. `pipeline topics apply` makes the cluster match it;\n"
        "# `pipeline schemas new` adds events.\n"
        "#\n"
        "# Keys per topic: events ({ EventName = \"key_field\" }), partitions,\n"
        "# replication_factor, cleanup_policy (\"delete\" | \"compact\"), retention_ms\n"
        "# (-1 = keep forever) and an optional `config` table of other Kafka topic configs.\n"
        "\n"
        "[defaults]\n"
        "partitions = 3\n"
        "replication_factor = 1     # the single local broker; use 3 on a production cluster\n"
        "cleanup_policy = \"delete\"\n"
        "retention_ms = 604800000   # 7 days\n"
        "\n"
        f"[topics.{json.dumps(topic)}]\n"
        f"events = {{ {EXAMPLE_EVENT} = {json.dumps(EXAMPLE_KEY)} }}\n"
    )


def _declares(text: str, path: Path) -> bool:
    try:
        return "event-pipeline" in tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError as exc:
        raise ScaffoldError(f"{path} is not valid TOML ({exc}); fix it first") from None


def _with_declaration(text: str, declaration: str, path: Path) -> str:
    """`text` with `declaration` in place of its [tool.event-pipeline] tables (or appended)."""
    lines = text.splitlines(keepends=True)
    headers = [(i, _header_path(line)) for i, line in enumerate(lines)]
    ours = [i for i, p in headers if p is not None and p[:2] == ["tool", "event-pipeline"]]
    if not ours:
        if _declares(text, path):
            raise ScaffoldError(
                f"{path} declares [{projects.TABLE}] inline, not as a table; remove it by hand "
                "and run `pipeline init` again"
            )
        return text.rstrip("\n") + "\n" + declaration
    first = ours[0]
    end = next((i for i, p in headers if i > first and p is not None and i not in ours),
               len(lines))
    if ours[-1] > end:
        raise ScaffoldError(f"{path}: other tables sit between the [{projects.TABLE}] tables; "
                            "remove the declaration by hand and run `pipeline init` again")
    # A comment block touching a header belongs to it: ours goes, the next table's stays.
    while first > 0 and lines[first - 1].lstrip().startswith("#"):
        first -= 1
    while end < len(lines) and end > first and lines[end - 1].lstrip().startswith("#"):
        end -= 1
    before = "".join(lines[:first]).rstrip("\n")
    after = "".join(lines[end:]).lstrip("\n")
    result = (before + "\n" + declaration) if before else declaration.lstrip("\n")
    result += "\n" + after if after else ""
    if _all_but_declaration(result) != _all_but_declaration(text):
        raise ScaffoldError(f"cannot replace the [{projects.TABLE}] tables of {path} safely; "
                            "remove them by hand and run `pipeline init` again")
    return result


def _all_but_declaration(text: str) -> dict | None:
    data = _comparable_text(text)
    if data is not None:
        data.get("tool", {}).pop("event-pipeline", None)
    return data


def _header_path(line: str) -> list[str] | None:
    """The key path of a `[table.header]` line, or None for any other line."""
    match = _HEADER.match(line)
    if not match:
        return None
    raw, parts, pos = match.group("path"), [], 0
    while pos < len(raw):
        part = _KEY_PART.match(raw, pos)
        if not part:
            return None
        key = part.group(1)
        if key.startswith('"'):
            key = json.loads(key)
        elif key.startswith("'"):
            key = key[1:-1]
        parts.append(key)
        pos = part.end()
        if not part.group(2):
            break
    return parts


# -- pipeline schemas new ----------------------------------------------------------------------


def new_event(
    project: projects.Project,
    name: str,
    *,
    topic: str,
    key: str,
    namespace: str | None = None,
    fields: Sequence[str] = (),
    out=print,
) -> Path:
    """Write `<first schemas folder>/<name>.avsc` and list the event under `topic`."""
    if not _AVRO_NAME.match(name):
        raise ScaffoldError(
            f"{name!r} is not an Avro record name; use letters, digits and _ (e.g. InvoiceIssued)"
        )
    if not _TOPIC_NAME.match(topic):
        raise ScaffoldError(
            f"{topic!r} is not a Kafka topic name; use letters, digits, '.', '_' and '-'"
        )
    if namespace is not None and not _AVRO_NAMESPACE.match(namespace):
        raise ScaffoldError(f"{namespace!r} is not an Avro namespace; write e.g. billing.events")
    try:
        current = catalog.build(project.schemas, project.topics)
    except PipelineError as exc:
        raise ScaffoldError(f"the catalog does not load as it is; fix that first: {exc}") from exc
    if name in current.event_types:
        known = current.event_types[name]
        raise ScaffoldError(
            f"event {name!r} already exists ({known.schema_path}, topic {known.topic!r}); "
            "choose another name, or edit that schema"
        )
    path = project.schemas[0] / f"{name}.avsc"
    if path.exists():
        raise ScaffoldError(f"{path} already exists; choose another name or remove that file")

    parsed = [_parse_field(spec) for spec in fields]
    names = [f["name"] for f in parsed]
    duplicates = sorted({n for n in names if names.count(n) > 1} | (
        set(names) & set(catalog.METADATA_FIELDS)))
    if duplicates:
        raise ScaffoldError(
            f"fields {duplicates} are given twice or are metadata fields (written anyway: "
            f"{', '.join(catalog.METADATA_FIELDS)}); drop them from --field"
        )
    if not _AVRO_NAME.match(key):
        raise ScaffoldError(f"key {key!r} is not an Avro field name; use letters, digits and _")
    if key not in names and key not in catalog.METADATA_FIELDS:
        parsed.insert(0, _field(key))
    namespace = namespace or _default_namespace(current, topic)

    from deploy import topics as topic_catalog

    with _Changes() as changes:
        changes.create(path, _schema_text(name, namespace, parsed))
        text = project.topics.read_text()
        edited = _add_event_to_catalog(text, project.topics, topic, name, key)
        changes.rewrite(project.topics, edited)
        _check(lambda: topic_catalog.load_catalog(project.topics), "the topic catalog")
        _check(lambda: catalog.build(project.schemas, project.topics),
               f"the event catalog with {name}")
    out(f"wrote     {_rel(path, project.root)}")
    out(f"listed    {name} (key {key}) on topic {topic!r} in {_rel(project.topics, project.root)}")
    out("next: `pipeline topics apply` and `pipeline schemas register` (or `pipeline up`)")
    return path


def _parse_field(spec: str) -> dict:
    """`name:type`, `name:type?` (nullable, default null), `...:pii` (masked on replay)."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "pii"):
        raise ScaffoldError(
            f"--field {spec!r}: write name:type, name:type? (optional) or name:type:pii; "
            f"types: {', '.join(_FIELD_TYPES)}"
        )
    name, kind = parts[0], parts[1]
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if not _AVRO_NAME.match(name):
        raise ScaffoldError(f"--field {spec!r}: {name!r} is not an Avro field name")
    if kind not in _FIELD_TYPES:
        raise ScaffoldError(
            f"--field {spec!r}: unknown type {kind!r}; use one of {', '.join(_FIELD_TYPES)}"
        )
    return _field(name, kind, optional=optional, pii=len(parts) == 3)


def _field(name: str, kind: str = "string", *, optional: bool = False, pii: bool = False) -> dict:
    avro_type = _FIELD_TYPES[kind]
    field: dict = {"name": name, "type": ["null", avro_type] if optional else avro_type}
    if optional:
        field["default"] = None
    if pii:
        field["pii"] = True
    return field


def _schema_text(name: str, namespace: str, fields: Sequence[dict], doc: str = "") -> str:
    schema: dict = {"type": "record", "name": name, "namespace": namespace}
    if doc:
        schema["doc"] = doc
    schema["fields"] = [*catalog.METADATA_AVRO_FIELDS, *fields]
    return json.dumps(schema, indent=2) + "\n"


def _default_namespace(current: catalog.Catalog, topic: str) -> str:
    """The namespace of the topic's events, else of any event, else `<topic prefix>.events`."""
    for event in current.events_on(topic) or current.event_types.values():
        if "." in event.full_name:
            return event.full_name.rsplit(".", 1)[0]
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", topic.split(".")[0])
    return f"{prefix if _AVRO_NAME.match(prefix) else 'events'}.events"


def _add_event_to_catalog(text: str, path: Path, topic: str, name: str, key: str) -> str:
    """The topic catalog's text with `name = "key"` in the `events` of `topic`, proved by
    reading it back: everything else must parse exactly as before."""
    before = tomllib.loads(text)
    entry = json.dumps(key)
    lines = text.splitlines(keepends=True)
    section = _table_lines(lines, ["topics", topic])
    if section is None and topic not in before.get("topics", {}):
        edited = text.rstrip("\n") + f"\n\n[topics.{json.dumps(topic)}]\nevents = {{ {name} = " \
            f"{entry} }}\n"
    elif section is not None:
        edited = _add_to_section(lines, section, ["topics", topic], name, entry)
    else:
        edited = None
    expected = _comparable(before)
    expected.setdefault("topics", {}).setdefault(topic, {}).setdefault("events", {})[name] = key
    if edited is None or _comparable_text(edited) != expected:
        raise ScaffoldError(
            f"cannot add {name} to topic {topic!r} in {path} automatically (its layout is "
            f"unusual); add `{name} = {entry}` to that topic's `events` by hand"
        )
    return edited


def _comparable(data: dict) -> dict:
    return json.loads(json.dumps(data, default=str))


def _comparable_text(text: str) -> dict | None:
    try:
        return _comparable(tomllib.loads(text))
    except tomllib.TOMLDecodeError:
        return None


def _table_lines(lines: list[str], path: list[str]) -> tuple[int, int] | None:
    """(header, end) line indexes of the table `path`, or None."""
    for i, line in enumerate(lines):
        if _header_path(line) == path:
            end = next((j for j in range(i + 1, len(lines)) if _header_path(lines[j])), len(lines))
            return i, end
    return None


def _add_to_section(lines: list[str], section: tuple[int, int], path: list[str], name: str,
                    entry: str) -> str | None:
    header, end = section
    for i in range(header + 1, end):
        match = re.match(r"^(\s*events\s*=\s*\{)(.*)\}(\s*(#.*)?\s*)$", lines[i].rstrip("\n"))
        if match:
            inside = match.group(2).strip()
            items = f"{inside}, {name} = {entry}" if inside else f"{name} = {entry}"
            lines[i] = f"{match.group(1)} {items} }}{match.group(3)}\n"
            return "".join(lines)
        if re.match(r"^\s*events\s*[=.]", lines[i]):
            return None  # some other form of `events`: left to the user
    sub = _table_lines(lines, [*path, "events"])
    if sub is not None:  # [topics."T".events] written as its own table
        last = sub[1]
        while last > sub[0] + 1 and not lines[last - 1].strip():
            last -= 1
        lines.insert(last, f"{name} = {entry}\n")
        return "".join(lines)
    lines.insert(header + 1, f"events = {{ {name} = {entry} }}\n")
    return "".join(lines)


# -- command line ------------------------------------------------------------------------------


def add_commands(subparsers) -> None:
    """Top-level commands (`init`)."""
    init = subparsers.add_parser(
        "init", help="declare the Django project here: [tool.event-pipeline], topics, an event"
    )
    init.add_argument("--dir", type=Path, default=Path("."),
                      help="the Django project's folder, where manage.py is (default: .)")
    init.add_argument("--force", action="store_true",
                      help="replace an existing [tool.event-pipeline] table")
    init.add_argument("--settings", help="Django settings module (default: from manage.py)")
    init.set_defaults(func=cmd_init)


def add_schema_commands(schema_subparsers) -> None:
    """Subcommands of `pipeline schemas` (`new`)."""
    new = schema_subparsers.add_parser(
        "new", help="add one event: its .avsc and its line in the topic catalog"
    )
    new.add_argument("name", metavar="NAME", help="the event's record name, e.g. InvoiceIssued")
    new.add_argument("--topic", required=True, help="the topic it goes to (created if new)")
    new.add_argument("--key", required=True, help="the field whose value is the Kafka key")
    new.add_argument("--namespace", help="Avro namespace (default: that of the topic's events)")
    new.add_argument(
        "--field", action="append", default=[], metavar="NAME:TYPE",
        help=f"a payload field, repeatable; TYPE is one of {', '.join(_FIELD_TYPES)}, "
             "with ? for optional and :pii to mask it on replay",
    )
    new.set_defaults(func=cmd_schemas_new)


def cmd_init(args) -> int:
    init_project(args.dir, force=args.force, settings=args.settings)
    return 0


def cmd_schemas_new(args) -> int:
    new_event(projects.current(), args.name, topic=args.topic, key=args.key,
              namespace=args.namespace, fields=args.field)
    return 0
