"""`pipeline trace ID` and `pipeline lineage run|recent`."""

from __future__ import annotations

import json
import os


def add_commands(subparsers) -> None:
    trace = subparsers.add_parser(
        "trace", help="what an event caused: the causation tree of an event, aggregate or "
        "correlation id, with each handler's effect",
    )
    trace.add_argument("ident", metavar="ID",
                       help="an event id, an aggregate id (e.g. an order id) or a correlation id")
    trace.add_argument("--json", action="store_true", help="the same tree as JSON")
    trace.add_argument("--max-events", type=int, default=None,
                       help="stop the tree at this many events (default 2000)")
    trace.set_defaults(func=cmd_trace)

    lineage = subparsers.add_parser("lineage", help="the lineage indexer behind `pipeline trace`")
    lsub = lineage.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = lsub.add_parser(
        "run", help="index every catalog event and dead letter in the foreground (SIGTERM stops "
        "it cleanly); `pipeline up` runs it as component `lineage`",
    )
    run.add_argument("--metrics-port", type=int, default=None,
                     help="serve Prometheus metrics on 127.0.0.1:PORT")
    run.add_argument("--metrics-host", default="127.0.0.1",
                     help="address for the metrics server (default 127.0.0.1)")
    run.add_argument("--instance-id", default=None,
                     help="static membership id: a restart takes its partitions back at once")
    run.add_argument("--group", default=None,
                     help="consumer group (default lineage, and lineage-effects); a second "
                          "index of the same cluster, into another database, needs its own")
    run.add_argument("--nice", type=int, default=10,
                     help="lower the indexer's CPU priority by this much (default 10: the "
                          "pipeline's own processes come first; 0 keeps it)")
    run.add_argument("--max-rows", type=int, default=None,
                     help="events kept (default $PIPELINE_LINEAGE_MAX_ROWS, else 1000000)")
    run.add_argument("--max-days", type=float, default=None,
                     help="days kept (default $PIPELINE_LINEAGE_MAX_DAYS, else 7)")
    run.set_defaults(func=cmd_lineage_run)
    latest = lsub.add_parser("recent", help="the latest indexed events (ids to trace)")
    latest.add_argument("--limit", type=int, default=20)
    latest.add_argument("--json", action="store_true")
    latest.set_defaults(func=cmd_lineage_recent)


def _database_url(args) -> str:
    """The workers' database: --database-url, else DATABASE_URL, else the project's Django
    default database, else the local stack's SQLite file (`consumers.runtime.database_for`)."""
    from consumers.runtime import database_for
    from deploy import connections

    return database_for(connections.settings(args))


def cmd_trace(args) -> int:
    from consumers.lineage import query, render

    roots = query.trace(_database_url(args), args.ident,
                        max_events=args.max_events or query.MAX_EVENTS)
    if args.json:
        print(json.dumps([r.to_dict() for r in roots], indent=2))
    else:
        for line in render.tree_lines(roots):
            print(line)
    return 0


def cmd_lineage_recent(args) -> int:
    from consumers.lineage import query, render

    nodes = query.recent(_database_url(args), args.limit)
    if args.json:
        print(json.dumps([n.to_dict() for n in nodes], indent=2))
    elif not nodes:
        print("nothing indexed yet: is the `lineage` component running (`pipeline status`)?")
    for node in [] if args.json else nodes:
        print(render.event_line(node))
    return 0


def cmd_lineage_run(args) -> int:
    import logging

    from consumers.lineage import settings as lineage_settings
    from consumers.lineage.indexer import GROUP, run_indexer
    from deploy import connections

    logging.getLogger("consumers").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    if args.nice:
        # A background index: under CPU pressure the workers and stream apps go first.
        os.nice(args.nice)
    bounds = lineage_settings.from_env().replace(max_rows=args.max_rows,
                                                 max_days=args.max_days)
    counts = run_indexer(connections.settings(args), lineage=bounds,
                         metrics_port=args.metrics_port, metrics_host=args.metrics_host,
                         instance_id=args.instance_id, group=args.group or GROUP)
    print(f"lineage indexer stopped: {counts}")
    return 0
