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

from deploy import logs
from deploy.stack import AREAS
from schemas.errors import PipelineError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3
EXIT_CODES = (
    "exit codes: 0 ok, 1 failure (the message names the problem and the fix), 2 usage "
    "(bad arguments), 3 unreachable (a broker, registry or service did not answer; retry "
    "once it runs)"
)


def main(argv: list[str] | None = None) -> int:
    # authlib, pulled in by confluent-kafka's registry client, warns about its own internals.
    warnings.filterwarnings("ignore", module="authlib")
    warnings.filterwarnings("ignore", message=".*httpx module is deprecated.*")
    parser = _parser()
    args = parser.parse_args(argv)
    if args.project:
        _use_project(args.project)
    logs.configure(
        component=_component(args),
        level=logging.DEBUG if args.verbose else logging.WARNING,
        fmt=args.log_format,
    )
    try:
        return args.func(args) or EXIT_OK
    except PipelineError as exc:
        from deploy.failures import explain_refusal

        # A secured cluster's refusal wrapped by the command: name principal, resource, hint.
        refused = explain_refusal(exc, _settings_for_errors(args), _topic_of(args))
        if refused is not None:
            logging.getLogger(__name__).debug("details", exc_info=exc)
        return _fail(args, refused or exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from deploy.failures import as_pipeline_error

        known = as_pipeline_error(exc, _settings_for_errors(args), _topic_of(args))
        if known is None:
            raise
        logging.getLogger(__name__).debug("details", exc_info=exc)
        return _fail(args, known)


def _fail(args, exc: PipelineError) -> int:
    from deploy.failures import readable

    message = readable(str(exc))
    source = _source_of(args, exc)
    if source:
        message += f" (address {source})"
    print(f"pipeline {_command_name(args)}: error: {message}", file=sys.stderr)
    return EXIT_UNAVAILABLE if exc.retriable else EXIT_FAILURE


def _command_name(args) -> str:
    action = getattr(args, "action", None)
    return f"{args.command} {action}" if isinstance(action, str) and action else args.command


def _component(args) -> str:
    """The name in log lines: the stack's component name for the processes it runs."""
    if args.command == "worker":
        return f"worker-{args.name}"
    return "pipeline"


def _topic_of(args) -> str | None:
    """The one topic a command works on (`replay TOPIC`, `--topic T`), to name in a refusal."""
    topic = getattr(args, "topic", None)
    if isinstance(topic, list) and len(topic) == 1:
        topic = topic[0]
    return topic if isinstance(topic, str) and topic else None


def _settings_for_errors(args):
    resolved = getattr(args, "_connections", None)
    if resolved is not None:
        return resolved.settings
    from schemas.config import from_env

    return from_env()


def _source_of(args, exc: PipelineError) -> str:
    """Where an unreachable address came from (flag, environment, local stack)."""
    resolved = getattr(args, "_connections", None)
    address = getattr(exc, "address", None)
    if resolved is None or not address:
        return ""
    source = resolved.source_of(address)
    return source.describe() if source else ""


def _parser() -> argparse.ArgumentParser:
    from deploy import connections

    parser = argparse.ArgumentParser(
        prog="pipeline",
        description=__doc__.splitlines()[0],
        epilog=f"{connections.ORDER}\n\n{EXIT_CODES}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _add_global_options(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start the local stack (idempotent; restarts dead parts)")
    up.add_argument("--brokers", type=int, choices=range(1, 10), metavar="N",
                    help="run N Kafka nodes (kafka-1..N; default: the home's shape, else 1)")
    up.add_argument("--secure", action="store_true", default=None,
                    help="clients only over SASL_SSL + SCRAM, ACLs from deploy/roles.toml")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down", help="stop the local stack")
    down.set_defaults(func=cmd_down)
    status = sub.add_parser("status", help="health and pids of the local stack")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--show-token", action="store_true",
        help="print the API token in the text form (the JSON always has django.api_token)",
    )
    status.set_defaults(func=cmd_status)

    topics = sub.add_parser("topics", help="the topic catalog (the declaration's `topics` file)")
    tsub = topics.add_subparsers(dest="action", required=True, metavar="ACTION")
    tsub.add_parser("apply", help="create/raise/alter topics to match the catalog").set_defaults(
        func=cmd_topics_apply
    )
    tsub.add_parser("list", help="catalog vs cluster").set_defaults(func=cmd_topics_list)
    export = tsub.add_parser("export", help="the catalog and role table as Strimzi resources")
    export.add_argument("--format", choices=("strimzi",), default="strimzi")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--cluster", default="my-cluster", help="the strimzi.io/cluster label")
    export.add_argument("--api-version", choices=("v1", "v1beta2"), default="v1",
                        help="kafka.strimzi.io version (v1: Strimzi 1.0+; v1beta2: older)")
    export.set_defaults(func=cmd_topics_export)

    schemas = sub.add_parser("schemas", help="Avro schemas and the registry")
    ssub = schemas.add_subparsers(dest="action", required=True, metavar="ACTION")
    reg = ssub.add_parser("register", help="register every catalog schema")
    reg.set_defaults(func=cmd_schemas_register)
    check = ssub.add_parser("check", help="fail if a schema change would break readers")
    check.add_argument(
        "--schemas-dir",
        type=Path,
        help="directory of .avsc files to check (default: the catalog's); it must exist and "
        "hold at least one of the catalog's schema files",
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

    completion = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description="Load it with `source <(pipeline completion bash)` (in ~/.bashrc), or "
        "`source <(pipeline completion zsh)` after compinit (in ~/.zshrc).",
    )
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(func=lambda args: cmd_completion(args, parser))

    # The global options also work after the command (`pipeline replay T -v`); SUPPRESS keeps
    # a subcommand from resetting what was given before it.
    for child in _subparsers(parser):
        _add_global_options(child, default=argparse.SUPPRESS)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, default) -> None:
    group = parser.add_argument_group("global options")
    group.add_argument("-v", "--verbose", action="store_true", default=default or False,
                       help="debug logging, and where each connection comes from")
    group.add_argument("--log-format", choices=logs.FORMATS, default=default or "text",
                       help="log lines as text (timestamp, level, component, logger) or one "
                       "JSON object per line (default: text)")
    group.add_argument(
        "--project", metavar="DIR", default=default,
        help="the project whose [tool.event-pipeline] declaration to use (default: the nearest "
        "pyproject.toml declaring one, from the current directory upwards; or $PIPELINE_PROJECT)",
    )
    group.add_argument("--bootstrap-servers", metavar="HOST:PORT", default=default,
                       help="Kafka (default: $KAFKA_BOOTSTRAP_SERVERS, else the local stack's)")
    group.add_argument("--schema-registry-url", metavar="URL", default=default,
                       help="the Confluent-compatible registry API (default: "
                       "$SCHEMA_REGISTRY_URL, else the local stack's)")
    group.add_argument("--database-url", metavar="URL", default=default,
                       help="the database of outbox and inbox (default: $DATABASE_URL, else "
                       "the project's Django settings)")


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield child
                yield from _subparsers(child)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("event-pipeline")
    except PackageNotFoundError:
        return "unknown (not installed; run `pip install -e .`)"


def cmd_completion(args, parser) -> int:
    from deploy import completion

    print(completion.script(parser, args.shell), end="")
    return 0


def _settings(args):
    """The connections of this command (flags, environment, local stack: deploy.connections)."""
    from deploy import connections

    return connections.settings(args)


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
    from deploy import bootstrap, preflight
    from deploy.runtime import feedback, summary
    from deploy.stack import INFRASTRUCTURE, Stack
    from schemas import project

    _require_stack_extras()
    preflight.check(project.current())
    stack = Stack(shape=_requested_shape(args))
    progress = feedback.for_stream(sys.stdout)
    try:
        # One `up` per home at a time. The broker and registry are checked to be this home's
        # before the catalog is applied; topics and schemas must exist before the relay,
        # streams and workers start using them.
        with stack.locked(progress):
            stack.up(only=INFRASTRUCTURE, feedback=progress)
            bootstrap.apply_catalog(stack.settings, out=progress.line)
            rest = {c.name for c in stack.components() if c.name not in INFRASTRUCTURE}
            stack.up(only=rest, feedback=progress)
    finally:
        progress.close()
    for line in summary.up_lines(stack.describe(), summary.status_command()):
        print(line)
    return 0


def _requested_shape(args):
    """`--brokers`/`--secure` over the home's recorded shape; None: keep the recorded one."""
    from deploy.runtime.kafka import ClusterShape
    from deploy.stack import Stack

    brokers, secure = getattr(args, "brokers", None), getattr(args, "secure", None)
    if brokers is None and secure is None:
        return None
    recorded = Stack().recorded_shape or ClusterShape()
    return ClusterShape(brokers=brokers or recorded.brokers, secure=secure or recorded.secure)


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
    from deploy.runtime import feedback

    progress = feedback.for_stream(sys.stdout)
    try:
        _stack().down(feedback=progress)
    finally:
        progress.close()
    print("stopped")
    return 0


def cmd_status(args) -> int:
    from deploy.runtime import summary

    report = _stack().status()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        # The token only on request: this text ends up in terminals, screenshots and logs.
        for line in summary.status_lines(report, show_token=getattr(args, "show_token", False)):
            print(line)
    healthy = all(c["healthy"] for c in report["components"].values())
    return 0 if healthy else EXIT_FAILURE


def cmd_topics_apply(args) -> int:
    from consumers.replay.progress import Activity
    from deploy import topics

    specs = topics.project_catalog()
    with Activity(f"applying {len(specs)} topics to {_settings(args).bootstrap_servers}"):
        plans = topics.apply(_settings(args), specs)
    for p in plans:
        print(f"{p.name:<28} {p.action:<7} {'; '.join(p.changes)}")
    return 0


def cmd_topics_list(args) -> int:
    from deploy import topics

    specs = topics.project_catalog()
    plans = topics.plan(_settings(args), specs)
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


def cmd_topics_export(args) -> int:
    from deploy import strimzi

    text = strimzi.export(cluster=args.cluster, api_version=args.api_version)
    if args.out:
        args.out.write_text(text)
        print(f"wrote {text.count('kind: ')} Strimzi resources to {args.out}")
    else:
        print(text, end="")
    return 0


def cmd_schemas_register(args) -> int:
    from consumers.replay.progress import Steps
    from schemas import catalog, registry

    client = registry.connect(_settings(args))
    specs = list(catalog.event_types().values())
    results = []
    with Steps("registering schemas", len(specs)) as steps:
        for spec in specs:
            results += registry.register_all(client, [spec])
            steps.advance(spec.subject)
    for subject, schema_id in results:
        print(f"{subject:<52} id {schema_id}")
    return 0


def cmd_schemas_check(args) -> int:
    from deploy import schema_folder
    from schemas import catalog, registry

    if args.schemas_dir is not None:
        files = {spec.schema_path.name: spec.schema_path
                 for spec in catalog.event_types().values()}
        schema_folder.check(args.schemas_dir, files)
    client = registry.connect(_settings(args))
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
