"""`pipeline worker <name>` and `pipeline dlq list|show|redrive`."""

from __future__ import annotations

import json
from pathlib import Path


def add_commands(subparsers) -> None:
    worker = subparsers.add_parser(
        "worker", help="run a consumer-group worker in the foreground (SIGTERM stops it cleanly)"
    )
    worker.add_argument("name", help="a worker declared under [tool.event-pipeline.workers]")
    worker.add_argument("--queue", metavar="Q",
                        help="with `tasks`: the tasks worker of queue Q (= the worker tasks-Q)")
    worker.add_argument("--group", help="consumer group (default: worker-<name>)")
    worker.add_argument("--topics", help="comma-separated topics (default: the handler's)")
    worker.add_argument("--retry-delays", default=None,
                        help="seconds per retry topic, e.g. 1,10,60 (the default); '' = none")
    worker.add_argument("--batch-size", type=int, default=None)
    worker.add_argument("--metrics-port", type=int, default=None,
                        help="serve Prometheus metrics on 127.0.0.1:PORT")
    worker.add_argument("--metrics-host", default=None,
                        help="address for the metrics server (default 127.0.0.1)")
    worker.add_argument("--instance-id", default=None,
                        help="static membership id: a restart takes its partitions back at once")
    worker.add_argument("--database", default=None,
                        help="database URL of the inbox and follow-up events (default: "
                             "--database-url, else DATABASE_URL, else the project's Django "
                             "default database)")
    worker.add_argument("--smtp-host", default=None,
                        help="sets EMAIL_HOST for the project's Django e-mail settings")
    worker.add_argument("--smtp-port", type=int, default=None,
                        help="sets EMAIL_PORT (default: the local stack's SMTP server)")
    worker.set_defaults(func=cmd_worker)

    dlq = subparsers.add_parser("dlq", help="dead-letter topics of the workers and stream apps")
    dsub = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = dsub.add_parser("list", help="dead letters per group: total, redriven, pending")
    ls.add_argument("target", nargs="*", help="worker or stream app names, or group ids "
                    "(default: every declared worker and stream app)")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_dlq_list)
    show = dsub.add_parser("show", help="print dead letters with origin, error and the event")
    show.add_argument("target", help="worker or stream app name, or group id")
    show.add_argument("--limit", type=int, default=20)
    show.add_argument("--pending", action="store_true", help="only those not yet redriven")
    show.set_defaults(func=cmd_dlq_show)
    redrive = dsub.add_parser(
        "redrive", help="send pending dead letters back to the worker (after a fix)"
    )
    redrive.add_argument("target", help="worker name or group id")
    redrive.add_argument("--limit", type=int, default=None)
    redrive.set_defaults(func=cmd_dlq_redrive)


def _settings(args):
    """Flags, else the environment, else the local stack (deploy.connections)."""
    from deploy import connections

    return connections.settings(args)


def _tasks_worker_of(name: str, queue: str) -> str:
    """Celery's `worker -Q mail`: the tasks worker of one queue (`tasks-<queue>` when several
    queues are declared, `tasks` when there is one)."""
    from schemas import project
    from schemas.errors import ConfigError

    declared = project.current()
    if name != "tasks":
        raise ConfigError(f"--queue goes with `pipeline worker tasks`, not `{name}`")
    if queue not in declared.task_queues:
        raise ConfigError(
            f"no task queue {queue!r}; declared queues: "
            f"{', '.join(declared.task_queues) or '(none: declare `tasks` first)'}"
        )
    return "tasks" if len(declared.task_queues) == 1 else f"tasks-{queue}"


def cmd_worker(args) -> int:
    import logging

    from consumers.options import WorkerOptions, parse_delays
    from consumers.runtime import run_worker

    # The worker's own progress at INFO; other libraries stay at the CLI's level.
    logging.getLogger("consumers").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if args.queue:
        args.name = _tasks_worker_of(args.name, args.queue)
    settings = _settings(args)
    changes = {}
    if args.retry_delays is not None:
        changes["retry_delays_s"] = parse_delays(args.retry_delays)
    if args.batch_size is not None:
        changes["batch_size"] = args.batch_size
    if args.metrics_port is not None:
        changes["metrics_port"] = args.metrics_port
    if args.metrics_host is not None:
        changes["metrics_host"] = args.metrics_host
    if args.instance_id is not None:
        changes["instance_id"] = args.instance_id
    options = WorkerOptions.from_mapping(changes)
    _mail_environment(args)
    topics = [t for t in args.topics.split(",") if t] if args.topics else None
    result = run_worker(args.name, settings, group_id=args.group, topics=topics,
                        options=options, database_url=args.database)
    print(f"worker {args.name} stopped: {result.counts}")
    return 0


def _mail_environment(args) -> None:
    """EMAIL_HOST/EMAIL_PORT for Django's e-mail settings, set before Django starts: the flags,
    else what the environment says, else the local stack's SMTP server (if it has one)."""
    import os

    if args.smtp_host is not None:
        os.environ["EMAIL_HOST"] = args.smtp_host
    if args.smtp_port is not None:
        os.environ["EMAIL_PORT"] = str(args.smtp_port)
    elif "EMAIL_PORT" not in os.environ:
        port = _stack_smtp_port()
        if port is not None:
            os.environ["EMAIL_PORT"] = str(port)


def _stack_smtp_port() -> int | None:
    from schemas.config import paths_from_env

    path = Path(paths_from_env().home) / "consumers" / "ports.json"
    try:
        return int(json.loads(path.read_text())["smtp"])
    except (OSError, ValueError, KeyError):
        return None


def cmd_dlq_list(args) -> int:
    from consumers import dlq

    settings = _settings(args)
    # Named groups must exist; of the declared ones, a topic not created yet holds nothing.
    rows = [dlq.summary(settings, t, missing_ok=not args.target)
            for t in (args.target or dlq.declared_groups())]
    if args.json:
        print(json.dumps([{"group": r.group, "topic": r.topic, "total": r.total,
                           "redriven": r.redriven, "pending": r.pending, "exists": r.exists}
                          for r in rows], indent=2))
        return 0
    print(f"{'group':<28} {'topic':<32} {'total':>7} {'redriven':>9} {'pending':>8}")
    for r in rows:
        note = "" if r.exists else "  (topic not created yet)"
        print(f"{r.group:<28} {r.topic:<32} {r.total:>7} {r.redriven:>9} {r.pending:>8}{note}")
    return 0


def cmd_dlq_show(args) -> int:
    from consumers import dlq
    from schemas import registry
    from schemas.serde import EventDeserializer

    settings = _settings(args)
    deserializer = EventDeserializer(registry.connect(settings))
    for letter in dlq.read(settings, args.target, pending_only=args.pending, limit=args.limit):
        print(json.dumps(dlq.describe(letter, deserializer), default=str))
    return 0


def cmd_dlq_redrive(args) -> int:
    from consumers import dlq

    count = dlq.redrive(_settings(args), args.target, limit=args.limit)
    print(f"redrove {count} dead letters of {dlq.group_of(args.target)} to its first retry topic")
    return 0
