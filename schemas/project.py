"""The project declaration: the `[tool.event-pipeline]` table of a project's `pyproject.toml`.

Found from the current directory upwards (like pytest and ruff), or named by `PIPELINE_PROJECT`
(the CLI's `--project DIR` sets it, so every process the CLI starts sees the same project).
`load()` reads and validates it and hands every component one typed `Project`; nothing else
reads the declaration. Errors name the key or file and the fix.

    [tool.event-pipeline]
    django_settings = "billing_site.settings"   # whose outbox the relay drains
    schemas = ["billing/avro"]                  # folders of .avsc files, one event each
    topics = "billing/topics.toml"              # topic catalog
    web = "billing_site.wsgi:application"       # optional: served by `pipeline up`
    tasks = ["billing.tasks"]                   # optional: task modules (see below)
    task_queues = ["default", "mail"]           # optional: queues (default: ["default"])

    [tool.event-pipeline.workers]               # name -> handler (or a table, see WorkerSpec)
    invoices = "billing.handlers:InvoiceMailer"

    [tool.event-pipeline.streams]               # name -> faust app (or a table, see StreamSpec)
    revenue = "billing.streams:app"

    [tool.event-pipeline.schedule]              # periodic tasks (see ScheduleSpec)
    nightly = { task = "billing.tasks.report", cron = "0 3 * * *" }

Declaring `tasks`, `task_queues` or a schedule turns background tasks on (`producer_django.tasks`,
which needs `django_settings`): the catalog gains the built-in TaskRequested event on one topic
per queue (`tasks.<queue>`), and the workers an implicit `tasks` worker (one `tasks-<queue>` per
queue when several are declared).
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType

from schemas.errors import ConfigError

TABLE = "tool.event-pipeline"
ENV_VAR = "PIPELINE_PROJECT"
_TOP_KEYS = {
    "django_settings", "schemas", "topics", "web", "tasks", "task_queues", "workers", "streams",
    "schedule",
}
_WORKER_KEYS = {"handler", "options"}
_STREAM_KEYS = {"app", "table", "output_topic"}
_SCHEDULE_KEYS = {"task", "every", "cron", "args", "kwargs"}
# Names become process, group and topic names (`worker-<name>`, `streams-<name>`).
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")
# Background tasks (producer_django.tasks): the built-in request event, its topics, its worker.
TASK_EVENT = "TaskRequested"
TASK_WORKER_HANDLER = "producer_django.tasks.worker:TaskWorker"
DEFAULT_QUEUE = "default"
BUILTIN_SCHEMAS = Path(__file__).resolve().parent / "builtin"
_EVERY = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_EVERY_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12),
                ("day of week", 0, 7))


def task_topic(queue: str) -> str:
    """The topic of a task queue."""
    return f"tasks.{queue}"


class ProjectError(ConfigError):
    """The declaration is missing or invalid; the message names the key or file and the fix."""


@dataclass(frozen=True)
class WorkerSpec:
    """A consumer-group worker: `name = "pkg.module:Handler"` or
    `name = { handler = "pkg.module:make_handler", options = { ... } }`; the handler class or
    factory is called with the options as keyword arguments."""

    name: str
    handler: str
    options: Mapping[str, object] = field(default_factory=dict)

    @property
    def group(self) -> str:
        return f"worker-{self.name}"


@dataclass(frozen=True)
class StreamSpec:
    """A faust app: `name = "pkg.module:app"` or `name = { app = "...", table = "levels",
    output_topic = "billing.levels" }`; `table`/`output_topic` name what `pipeline rebuild`
    rebuilds and diffs."""

    name: str
    app: str
    table: str | None = None
    output_topic: str | None = None

    @property
    def app_id(self) -> str:
        return f"streams-{self.name}"


@dataclass(frozen=True)
class ScheduleSpec:
    """A periodic task: `name = { task = "pkg.tasks.report", every = "30s" }` (units ms, s, m,
    h, d) or `cron = "*/5 * * * *"` (minute hour day-of-month month day-of-week, UTC), with
    optional `args = [...]` and `kwargs = { ... }`. Ticks are aligned: `every` on multiples of
    the interval since the epoch, cron on whole minutes, so every scheduler agrees on them."""

    name: str
    task: str
    every: str | None = None
    cron: str | None = None
    args: tuple = ()
    kwargs: Mapping[str, object] = field(default_factory=dict)

    @property
    def interval_ms(self) -> int | None:
        return parse_every(self.every) if self.every else None

    def latest_tick_ms(self, now_ms: int) -> int:
        """The last tick at or before `now_ms`."""
        if self.every:
            step = parse_every(self.every)
            return now_ms - now_ms % step
        minute = now_ms - now_ms % 60000
        allowed = parse_cron(self.cron)
        for _ in range(5 * 366 * 1440):  # a cron that matches at all does so within 5 years
            if cron_matches(allowed, minute):
                return minute
            minute -= 60000
        return minute

    def ticks_after(self, after_ms: int, now_ms: int) -> list[int]:
        """The ticks in (after_ms, now_ms], oldest first."""
        if self.every:
            step = parse_every(self.every)
            first = after_ms - after_ms % step + step
            return list(range(first, now_ms + 1, step))
        allowed = parse_cron(self.cron)
        first = after_ms - after_ms % 60000 + 60000
        return [m for m in range(first, now_ms + 1, 60000) if cron_matches(allowed, m)]


def parse_every(text: str) -> int:
    """"30s" -> 30000 (milliseconds); ProjectError naming the fix otherwise."""
    match = _EVERY.match(str(text).strip())
    if not match or float(match.group(1)) * _EVERY_UNITS[match.group(2)] < 0.001:
        raise ProjectError(
            f"`every` = {text!r} is not an interval; write a number and a unit: \"500ms\", "
            "\"30s\", \"5m\", \"2h\", \"1d\""
        )
    return int(round(float(match.group(1)) * _EVERY_UNITS[match.group(2)] * 1000))


def parse_cron(text: str) -> tuple[frozenset[int], ...]:
    """The allowed values of each of the five cron fields; ProjectError naming the field."""
    parts = str(text).split()
    if len(parts) != 5:
        raise ProjectError(
            f"`cron` = {text!r} needs five fields: minute hour day-of-month month day-of-week "
            "(e.g. \"*/5 * * * *\")"
        )
    fields = [_cron_field(part, *spec, text) for part, spec in zip(parts, _CRON_FIELDS,
                                                                   strict=True)]
    fields[4] = frozenset(v % 7 for v in fields[4])  # 0 and 7 are both Sunday
    return tuple(fields)


def _cron_field(part: str, what: str, low: int, high: int, text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in part.split(","):
        body, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                start, end = low, high
            elif "-" in body:
                start, end = (int(x) for x in body.split("-", 1))
            else:
                start = end = int(body)
                if step_text:
                    end = high
        except ValueError:
            start = end = step = -1
        if step < 1 or start < low or end > high or start > end:
            raise ProjectError(
                f"`cron` = {text!r}: {item!r} is not a valid {what} ({low}-{high}, *, a-b, */n, "
                "lists with commas)"
            )
        values.update(range(start, end + 1, step))
    return frozenset(values)


def cron_matches(allowed: tuple[frozenset[int], ...], minute_ms: int) -> bool:
    t = time.gmtime(minute_ms // 1000)
    minute, hour, dom, month, dow = allowed
    weekday = (t.tm_wday + 1) % 7  # cron counts from Sunday = 0
    day_ok = (t.tm_mday in dom or weekday in dow) if (len(dom) < 31 and len(dow) < 7) else (
        t.tm_mday in dom and weekday in dow)
    return t.tm_min in minute and t.tm_hour in hour and t.tm_mon in month and day_ok


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: caches key on it
class Project:
    root: Path
    source: Path
    django_settings: str | None = None
    schemas: tuple[Path, ...] = ()
    topics: Path | None = None
    web: str | None = None
    tasks: tuple[str, ...] = ()
    # Empty unless tasks are on (see the module docstring); else the queues, default first.
    task_queues: tuple[str, ...] = ()
    workers: Mapping[str, WorkerSpec] = field(default_factory=dict)
    streams: Mapping[str, StreamSpec] = field(default_factory=dict)
    schedule: Mapping[str, ScheduleSpec] = field(default_factory=dict)

    def activate(self) -> None:
        """Make the project's own modules importable in this process (idempotent)."""
        root = str(self.root)
        if root not in sys.path:
            sys.path.insert(0, root)

    def env(self) -> dict[str, str]:
        """What a child process needs to see the same project and import its modules."""
        pythonpath = os.pathsep.join(p for p in (str(self.root), os.environ.get("PYTHONPATH"))
                                     if p)
        return {ENV_VAR: str(self.root), "PYTHONPATH": pythonpath}

    @property
    def uses_tasks(self) -> bool:
        return bool(self.task_queues)

    def worker(self, name: str) -> WorkerSpec:
        try:
            return self.workers[name]
        except KeyError:
            raise ProjectError(
                f"no worker named {name!r} in {self.source}; declared workers: "
                f"{', '.join(self.workers) or '(none)'}. Add it under [{TABLE}.workers]"
            ) from None

    def stream(self, name: str) -> StreamSpec:
        try:
            return self.streams[name]
        except KeyError:
            raise ProjectError(
                f"no stream app named {name!r} in {self.source}; declared apps: "
                f"{', '.join(self.streams) or '(none)'}. Add it under [{TABLE}.streams]"
            ) from None


def find(start: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The pyproject.toml that declares the project (PIPELINE_PROJECT, else cwd upwards)."""
    env = os.environ if environ is None else environ
    named = env.get(ENV_VAR)
    if named:
        path = Path(named).expanduser().resolve()
        candidate = path if path.is_file() else path / "pyproject.toml"
        if not candidate.is_file():
            raise ProjectError(
                f"{ENV_VAR}={named}: no pyproject.toml there; point it (or --project) at the "
                "folder that holds your project's pyproject.toml"
            )
        if not _declares(candidate):
            raise ProjectError(
                f"{candidate} has no [{TABLE}] table; run `pipeline init` there to add one"
            )
        return candidate
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and _declares(candidate):
            return candidate
    raise ProjectError(
        f"no pyproject.toml with a [{TABLE}] table in {here} or any folder above it; run "
        f"`pipeline init` in your Django project, or name it with --project DIR or {ENV_VAR}"
    )


def _declares(path: Path) -> bool:
    return _read_toml(path).get("tool", {}).get("event-pipeline") is not None


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"{path}: not valid TOML ({exc}); fix the file") from None


def load(path: Path | None = None) -> Project:
    """Read and validate a declaration (default: `find()`)."""
    source = (path or find()).resolve()
    if source.is_dir():
        source = source / "pyproject.toml"
    data = _read_toml(source).get("tool", {}).get("event-pipeline")
    if data is None:
        raise ProjectError(f"{source} has no [{TABLE}] table; run `pipeline init` to add one")
    return parse(data, source)


def parse(data: Mapping, source: Path) -> Project:
    root = source.parent
    where = f"{source} [{TABLE}]"
    _no_unknown(data, _TOP_KEYS, where)

    def string(key: str, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise ProjectError(f"{where}: `{key}` is missing; add {key} = \"...\"")
            return None
        if not isinstance(value, str) or not value:
            raise ProjectError(f"{where}: `{key}` must be a non-empty string, got {value!r}")
        return value

    def dotted(key: str, value: str) -> str:
        if not _DOTTED.match(value):
            raise ProjectError(
                f"{where}: `{key}` = {value!r} is not a dotted path; write "
                "\"package.module:attribute\""
            )
        return value

    schema_dirs = data.get("schemas", [])
    if isinstance(schema_dirs, str):
        schema_dirs = [schema_dirs]
    if not isinstance(schema_dirs, list) or not all(isinstance(s, str) for s in schema_dirs):
        raise ProjectError(f"{where}: `schemas` must be a list of folders, got {schema_dirs!r}")
    if not schema_dirs:
        raise ProjectError(f"{where}: `schemas` is missing; add schemas = [\"<folder of .avsc>\"]")
    folders = []
    for entry in schema_dirs:
        folder = (root / entry).resolve()
        if not folder.is_dir():
            raise ProjectError(
                f"{where}: `schemas` folder {entry!r} does not exist ({folder}); create it "
                "(`pipeline schemas new` writes one event) or fix the path"
            )
        folders.append(folder)

    topics_entry = string("topics", required=True)
    topics_file = (root / topics_entry).resolve()
    if not topics_file.is_file():
        raise ProjectError(
            f"{where}: `topics` file {topics_entry!r} does not exist ({topics_file}); create it "
            "(`pipeline init` writes one) or fix the path"
        )

    django_settings = string("django_settings")
    if django_settings:
        dotted("django_settings", django_settings)
    web = string("web")
    if web:
        dotted("web", web)
    tasks = data.get("tasks", [])
    if isinstance(tasks, str):
        tasks = [tasks]
    if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
        raise ProjectError(f"{where}: `tasks` must be a list of module names, got {tasks!r}")
    for module in tasks:
        dotted("tasks", module)

    workers = {}
    for name, value in _table(data, "workers", where).items():
        key = f"workers.{name}"
        _check_name(name, key, where)
        if isinstance(value, str):
            workers[name] = WorkerSpec(name, dotted(key, value))
            continue
        _no_unknown(_as_table(value, key, where), _WORKER_KEYS, f"{where} {key}")
        handler = value.get("handler")
        if not isinstance(handler, str):
            raise ProjectError(f"{where} {key}: `handler` = \"package.module:Handler\" is missing")
        options = value.get("options", {})
        if not isinstance(options, dict):
            raise ProjectError(f"{where} {key}: `options` must be a table, got {options!r}")
        workers[name] = WorkerSpec(name, dotted(key, handler), MappingProxyType(dict(options)))

    streams = {}
    for name, value in _table(data, "streams", where).items():
        key = f"streams.{name}"
        _check_name(name, key, where)
        if isinstance(value, str):
            streams[name] = StreamSpec(name, dotted(key, value))
            continue
        _no_unknown(_as_table(value, key, where), _STREAM_KEYS, f"{where} {key}")
        app = value.get("app")
        if not isinstance(app, str):
            raise ProjectError(f"{where} {key}: `app` = \"package.module:app\" is missing")
        streams[name] = StreamSpec(
            name, dotted(key, app), table=value.get("table"), output_topic=value.get("output_topic")
        )

    schedule = {}
    for name, value in _table(data, "schedule", where).items():
        key = f"schedule.{name}"
        schedule[name] = _schedule_entry(name, _as_table(value, key, where), f"{where} {key}")

    task_queues = _task_queues(data, where, bool(schedule))
    if task_queues:
        if not django_settings:
            raise ProjectError(
                f"{where}: background tasks (`tasks`, `task_queues` or a schedule) run with the "
                "project's Django settings and database; add django_settings = \"...\""
            )
        workers.update(_task_workers(task_queues, workers, where))

    return Project(
        root=root,
        source=source,
        django_settings=django_settings,
        schemas=tuple(folders),
        topics=topics_file,
        web=web,
        tasks=tuple(tasks),
        task_queues=task_queues,
        workers=MappingProxyType(workers),
        streams=MappingProxyType(streams),
        schedule=MappingProxyType(schedule),
    )


def _schedule_entry(name: str, entry: Mapping, where: str) -> ScheduleSpec:
    _no_unknown(entry, _SCHEDULE_KEYS, where)
    task = entry.get("task")
    if not isinstance(task, str) or not _DOTTED.match(task) or "." not in task:
        raise ProjectError(f"{where}: `task` = \"package.tasks.name\" is missing or not a name")
    if ("every" in entry) == ("cron" in entry):
        raise ProjectError(f"{where}: give exactly one of `every` (\"30s\") or `cron`")
    try:
        if "every" in entry:
            parse_every(entry["every"])
        else:
            parse_cron(entry["cron"])
    except ProjectError as exc:
        raise ProjectError(f"{where}: {exc}") from None
    args, kwargs = entry.get("args", []), entry.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ProjectError(f"{where}: `args` must be a list and `kwargs` a table")
    return ScheduleSpec(
        name, task, every=entry.get("every"), cron=entry.get("cron"), args=tuple(args),
        kwargs=MappingProxyType(dict(kwargs)),
    )


def _task_queues(data: Mapping, where: str, has_schedule: bool) -> tuple[str, ...]:
    if "task_queues" not in data:
        return (DEFAULT_QUEUE,) if "tasks" in data or has_schedule else ()
    queues = data["task_queues"]
    if not isinstance(queues, list) or not queues or not all(isinstance(q, str) for q in queues):
        raise ProjectError(
            f"{where}: `task_queues` must be a non-empty list of names, got {queues!r}"
        )
    for queue in queues:
        _check_name(queue, "task_queues", where)
    return tuple(dict.fromkeys(queues))


def _task_workers(queues: tuple[str, ...], declared: Mapping, where: str) -> dict:
    """The implicit tasks worker(s): `tasks` for one queue, `tasks-<queue>` for several."""
    if len(queues) == 1:
        names = {"tasks": queues}
    else:
        names = {f"tasks-{q}": (q,) for q in queues}
    workers = {}
    for name, served in names.items():
        if name in declared:
            raise ProjectError(
                f"{where}: the worker name {name!r} is taken by the background tasks worker; "
                "rename your worker"
            )
        options = MappingProxyType({"name": name, "queues": list(served)})
        workers[name] = WorkerSpec(name, TASK_WORKER_HANDLER, options)
    return workers


def _no_unknown(entry: Mapping, known: set[str], where: str) -> None:
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ProjectError(
            f"{where}: unknown keys {unknown}; known keys: {sorted(known)}"
        )


def _table(data: Mapping, key: str, where: str) -> Mapping:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProjectError(f"{where}: `{key}` must be a table ([{TABLE}.{key}]), got {value!r}")
    return value


def _as_table(value, key: str, where: str) -> Mapping:
    if not isinstance(value, dict):
        raise ProjectError(f"{where}: `{key}` must be a string or a table, got {value!r}")
    return value


def _check_name(name: str, key: str, where: str) -> None:
    if not _NAME.match(name):
        raise ProjectError(
            f"{where}: `{key}`: the name {name!r} must be lower case letters, digits, - or _ "
            "(it becomes process, group and topic names)"
        )


def import_object(path: str, key: str = "", project: Project | None = None):
    """Import `package.module:attribute` (or `package.module.attribute`); an error names the
    declaration key and the fix."""
    if project is not None:
        project.activate()
    module_name, _, attribute = path.partition(":")
    if not attribute:
        module_name, _, attribute = path.rpartition(".")
    where = f"`{key}` = {path!r}" if key else repr(path)
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProjectError(
            f"{where}: cannot import module {module_name!r} ({exc}); check the name, and that "
            "the package is installed or lies under the project's root"
        ) from exc
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ProjectError(
                f"{where}: module {module_name!r} has no attribute {attribute!r}; check the name"
            ) from None
    return obj


_current: Project | None = None


def current() -> Project:
    """The project of this process: set by `use()`, else found and loaded once."""
    global _current
    if _current is None:
        _current = _load_found()
    return _current


@cache
def _load_found() -> Project:
    return load()


def use(project: Project | None) -> None:
    """Make `project` this process's project (tests, the CLI's --project); None forgets it."""
    global _current
    _current = project
    _load_found.cache_clear()
