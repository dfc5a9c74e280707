"""`pipeline`: the command line of the event pipeline.

Thin by design: parse arguments, call one function, turn known failures into a message naming
the problem and the fix, with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import sys
import warnings
from pathlib import Path

from deploy.stack import AREAS
from schemas.errors import PipelineError

EXIT_FAILURE = 1
EXIT_UNAVAILABLE = 3


def main(argv: list[str] | None = None) -> int:
    # authlib, pulled in by confluent-kafka's registry client, warns about its own internals.
    warnings.filterwarnings("ignore", module="authlib")
    warnings.filterwarnings("ignore", message=".*httpx module is deprecated.*")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.project:
        _use_project(args.project)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args) or 0
    except PipelineError as exc:
        print(f"pipeline {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_UNAVAILABLE if exc.retriable else EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--project", metavar="DIR",
        help="the project whose [tool.event-pipeline] declaration to use (default: the nearest "
        "pyproject.toml declaring one, from the current directory upwards; or $PIPELINE_PROJECT)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start the local stack (idempotent; restarts dead parts)")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the local stack")
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="health and pids of the local stack")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    topics = sub.add_parser("topics", help="the topic catalog (deploy/topics.toml)")
    tsub = topics.add_subparsers(dest="action", required=True, metavar="ACTION")
    tsub.add_parser("apply", help="create/raise/alter topics to match the catalog").set_defaults(
        func=cmd_topics_apply
    )
    tsub.add_parser("list", help="catalog vs cluster").set_defaults(func=cmd_topics_list)

    schemas = sub.add_parser("schemas", help="Avro schemas and the registry")
    ssub = schemas.add_subparsers(dest="action", required=True, metavar="ACTION")
    reg = ssub.add_parser("register", help="register every catalog schema")
    reg.set_defaults(func=cmd_schemas_register)
    check = ssub.add_parser("check", help="fail if a schema change would break readers")
    check.add_argument(
        "--schemas-dir",
        type=Path,
        help="directory of .avsc files to check (default: the catalog's)",
    )
    check.set_defaults(func=cmd_schemas_check)

    from deploy import scaffold

    scaffold.add_commands(sub)
    scaffold.add_schema_commands(ssub)

    # Areas add their own commands (worker, replay, dlq, offsets, ...) through
    # `<area>/cli.py: add_commands(subparsers)`.
    for area in AREAS:
        name = f"{area}.cli"
        if importlib.util.find_spec(area) is not None and importlib.util.find_spec(name):
            importlib.import_module(name).add_commands(sub)
    return parser


def _use_project(directory: str) -> None:
    """--project DIR: this process and every process it starts use that declaration."""
    import os

    from schemas import project

    os.environ[project.ENV_VAR] = str(Path(directory).resolve())
    project.use(None)


def _stack():
    from deploy.stack import Stack

    return Stack()


def cmd_up(args) -> int:
    from deploy import bootstrap
    from deploy.stack import INFRASTRUCTURE

    _require_stack_extras()
    stack = _stack()
    # Topics and schemas must exist before the relay, streams and workers start using them.
    outcome = stack.up(only=INFRASTRUCTURE)
    bootstrap.apply_catalog(stack.settings, out=print)
    for name, state in stack.up().items():
        outcome.setdefault(name, state)
    for name, state in outcome.items():
        print(f"{name:<22} {state}")
    print(f"kafka                  {stack.settings.bootstrap_servers}")
    print(f"schema registry        {stack.settings.schema_registry_url}")
    return 0


def _require_stack_extras() -> None:
    """Name the missing extra before anything starts, not in a component's log."""
    from schemas import project
    from schemas.extras import require

    declared = project.current()
    require("aiosmtpd", "stack", "`pipeline up` (the local SMTP server)")
    if declared.web:
        require("gunicorn", "stack", "`pipeline up` (the web app)")
    if declared.streams:
        require("faust", "streams", "`pipeline up` (the stream apps)")


def cmd_down(args) -> int:
    _stack().down()
    print("stopped")
    return 0


def cmd_status(args) -> int:
    report = _stack().status()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"kafka            {report['kafka']['bootstrap_servers']}")
        print(f"schema registry  {report['schema_registry']['url']}")
        django = report.get("django") or {}
        if django.get("url"):
            print(f"django           {django['url']}  (API token {django.get('api_token')})")
        if (report.get("streams") or {}).get("url"):
            print(f"streams          {report['streams']['url']}")
        if (report.get("smtp") or {}).get("maildir"):
            print(f"maildir          {report['smtp']['maildir']}")
        for name, comp in report["components"].items():
            health = "healthy" if comp["healthy"] else "DOWN"
            print(f"  {name:<22} {health:<8} pid {comp['pid'] or '-'}")
    healthy = all(c["healthy"] for c in report["components"].values())
    return 0 if healthy else EXIT_FAILURE


def cmd_topics_apply(args) -> int:
    from deploy import topics

    plans = topics.apply(_stack().settings, topics.project_catalog())
    for p in plans:
        print(f"{p.name:<28} {p.action:<7} {'; '.join(p.changes)}")
    return 0


def cmd_topics_list(args) -> int:
    from deploy import topics

    specs = topics.project_catalog()
    plans = topics.plan(_stack().settings, specs)
    print(f"{'topic':<28} {'parts':>5} {'policy':<8} {'retention':>12}  cluster")
    for spec, p in zip(specs, plans, strict=True):
        state = {"ok": "in sync", "create": "missing"}.get(p.action, p.action)
        detail = "; ".join(p.changes + p.refusals)
        suffix = f": {detail}" if detail and p.action != "create" else ""
        print(
            f"{spec.name:<28} {spec.partitions:>5} {spec.cleanup_policy:<8} "
            f"{spec.retention_ms:>12}  {state}{suffix}"
        )
    return 0


def cmd_schemas_register(args) -> int:
    from schemas import registry

    client = registry.connect(_stack().settings)
    for subject, schema_id in registry.register_all(client):
        print(f"{subject:<52} id {schema_id}")
    return 0


def cmd_schemas_check(args) -> int:
    from schemas import registry

    client = registry.connect(_stack().settings)
    reports = registry.check_all(client, schema_dir=args.schemas_dir)
    for r in reports:
        print(f"{r.subject:<52} {r.status}")
    failures = registry.describe_failures(reports)
    if failures:
        print(failures, file=sys.stderr)
        return EXIT_FAILURE
    return 0


if __name__ == "__main__":
    sys.exit(main())
