"""`pipeline replay`, `pipeline offsets reset` and `pipeline rebuild`: thin argparse layers."""

from __future__ import annotations

import os
import sys

EXIT_FAILURE = 1


def add_commands(subparsers) -> None:
    replay = subparsers.add_parser(
        "replay",
        help="read, filter and export a topic range (or reprocess it into a fresh group)",
        description="Read TOPIC from --from to --to (half-open; ISO datetimes, offsets, "
        "'beginning' or 'end'), decoded through the schema registry, as NDJSON on stdout by "
        "default. Fields marked as personal data in the schemas are masked unless --unmask.",
    )
    replay.add_argument("topic")
    replay.add_argument(
        "--from",
        dest="start",
        metavar="WHEN",
        help="ISO datetime (UTC if no zone), offset, or 'beginning' (default)",
    )
    replay.add_argument(
        "--to",
        dest="end",
        metavar="WHEN",
        help="exclusive end: ISO datetime, offset, or 'end' (default: the end "
        "when the replay starts)",
    )
    replay.add_argument(
        "--partition",
        type=int,
        action="append",
        metavar="N",
        help="only this partition (repeatable)",
    )
    replay.add_argument(
        "--where",
        action="append",
        metavar="CLAUSE",
        help="FIELD OP VALUE, OP in = != > >= < <= ~ (repeatable, all must hold), "
        "e.g. event_type=InvoiceIssued, amount_cents>=1000, lines.sku=A-1",
    )
    replay.add_argument("--limit", type=int, metavar="N", help="stop after N matching records")
    replay.add_argument(
        "--format",
        choices=("jsonl", "csv", "avro", "parquet"),
        help="output format (default: from --out's extension: .jsonl/.ndjson/.json, .csv, "
        ".avro, .parquet/.pq; jsonl on stdout)",
    )
    replay.add_argument("--out", metavar="FILE", help="output file (default: stdout)")
    replay.add_argument(
        "--raw",
        action="store_true",
        help="skip decoding: export the values' bytes (fast; undecodable data)",
    )
    replay.add_argument(
        "--unmask", action="store_true", help="export fields marked as personal data in clear"
    )
    replay.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="jsonl without --limit: read partition groups in up to N processes (default: "
        "one per core, for ranges of 200,000 records or more per process; 1: one process)",
    )
    bar = replay.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    replay.add_argument(
        "--into-group",
        metavar="GROUP",
        help="reprocess the range through --worker under this fresh consumer "
        "group instead of exporting; the live group is untouched",
    )
    replay.add_argument(
        "--worker",
        metavar="NAME",
        help="the worker that reprocesses with --into-group (e.g. notifications)",
    )
    replay.add_argument(
        "--live-group",
        metavar="GROUP",
        help="with --into-group: the worker's live group, whose processed "
        "events are not re-sent (default: worker-<NAME>)",
    )
    replay.add_argument(
        "--worker-option",
        action="append",
        metavar="KEY=VALUE",
        help="with --into-group: a worker option, e.g. batch_size=100",
    )
    replay.set_defaults(func=cmd_replay)

    offsets = subparsers.add_parser("offsets", help="consumer group offsets")
    osub = offsets.add_subparsers(dest="action", required=True, metavar="ACTION")
    reset = osub.add_parser(
        "reset",
        help="move a stopped group's offsets to a time (dry run unless --execute)",
        description="Print the per-partition change, then apply it with --execute. Refused "
        "while the group has active members.",
    )
    reset.add_argument("--group", required=True)
    target = reset.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-datetime", metavar="WHEN", help="ISO datetime (UTC if no zone)")
    target.add_argument("--to-offset", type=int, metavar="N")
    target.add_argument("--to-earliest", action="store_true")
    target.add_argument("--to-latest", action="store_true")
    reset.add_argument(
        "--topic",
        action="append",
        help="limit to this topic (repeatable; default: the group's topics)",
    )
    reset.add_argument("--execute", action="store_true", help="apply the change (default: dry run)")
    reset.set_defaults(func=cmd_offsets_reset)

    rebuild = subparsers.add_parser(
        "rebuild",
        help="re-derive a stream app's table into a new topic and diff it against the live one",
        description="For an app declared with `table` and `output_topic` under "
        "[tool.event-pipeline.streams]: run a copy of it from the source topics into a new "
        "topic, wait until it caught up, and compare the last value per key.",
    )
    rebuild.add_argument("app", help="a stream app declared with `table` and `output_topic`")
    rebuild.add_argument(
        "--from",
        dest="start",
        default="beginning",
        metavar="WHEN",
        help="only 'beginning' gives a complete table (the default)",
    )
    rebuild.add_argument(
        "--into",
        metavar="TOPIC",
        help="output topic (default: <the app's output_topic>.rebuild-<time>)",
    )
    rebuild.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="give up if the rebuild has not caught up after S seconds",
    )
    rebuild.add_argument("--keep", action="store_true", help="keep the rebuilt topic")
    rebuild.add_argument(
        "--live-topic", help="the live table's topic to diff (default: the app's output_topic)"
    )
    rebuild.add_argument(
        "--live-app-id",
        help="the live app's id (its group), waited for so both saw the same events "
        "(default: streams-<app>)",
    )
    rebuild.set_defaults(func=cmd_rebuild)


def _settings(args):
    """Flags, else the environment, else the local stack (deploy.connections)."""
    from deploy import connections

    return connections.settings(args)


def cmd_replay(args) -> int:
    from consumers.replay.errors import ReplayError
    from consumers.replay.export import choose_format, export
    from consumers.replay.session import Replay

    settings = _settings(args)
    export_only = {
        "--where": args.where,
        "--limit": args.limit,
        "--format": args.format,
        "--out": args.out,
        "--raw": args.raw,
        "--unmask": args.unmask,
        "--processes": args.processes,
    }
    reprocess_only = {
        "--worker": args.worker,
        "--live-group": args.live_group,
        "--worker-option": args.worker_option,
    }
    if args.into_group:
        given = [flag for flag, value in export_only.items() if value]
        if given:
            raise ReplayError(
                f"{', '.join(given)} select or shape an export; --into-group reprocesses every "
                "record of the range through the worker. Drop them, or export without "
                "--into-group"
            )
        return _reprocess(args, settings)
    given = [flag for flag, value in reprocess_only.items() if value]
    if given:
        raise ReplayError(f"{', '.join(given)}: only used with --into-group GROUP")
    if args.processes is not None and args.processes < 1:
        raise ReplayError(f"--processes {args.processes}: give 1 or more")
    fmt = choose_format(args.format, args.out)
    replay = Replay(
        settings,
        args.topic,
        args.start,
        args.end,
        partitions=args.partition,
        where=args.where,
        limit=args.limit,
        raw=args.raw,
        unmask=args.unmask,
    )
    try:
        result = export(replay, fmt, args.out, progress=args.progress, processes=args.processes)
    finally:
        replay.close()
    if result.broken_pipe:
        # Keep Python from complaining about the closed stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    rate = result.read / result.seconds if result.seconds > 0 else 0.0
    print(
        f"replay {args.topic}: {result.written} records written, {result.read} read, "
        f"{result.undecodable} undecodable, {result.seconds:.1f}s ({rate:,.0f} rec/s)",
        file=sys.stderr,
    )
    if result.undecodable:
        print(
            f"replay {args.topic}: error: {result.undecodable} records could not be decoded "
            "(listed above with partition and offset); export their bytes with --raw",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return 0


def _option_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    if "," in text:
        return [part for part in text.split(",") if part]
    return text


def _reprocess(args, settings) -> int:
    from consumers.options import WorkerOptions
    from consumers.replay.errors import ReplayError
    from consumers.replay.reprocess import reprocess

    values = {}
    for item in args.worker_option or ():
        key, sep, value = item.partition("=")
        if not sep:
            raise ReplayError(f"--worker-option {item!r}: write KEY=VALUE, e.g. batch_size=100")
        values[key.strip()] = _option_value(value.strip())
    outcome = reprocess(
        settings,
        args.topic,
        args.into_group,
        worker=args.worker,
        start=args.start,
        end=args.end,
        partitions=args.partition,
        live_group=args.live_group,
        options=WorkerOptions.from_mapping(values),
    )
    print(outcome.describe())
    return 0


def cmd_offsets_reset(args) -> int:
    from consumers.replay import offsets
    from consumers.replay.errors import ActiveGroupError
    from consumers.replay.ranges import BEGINNING, END, Bound, parse_bound

    if args.to_datetime:
        target = parse_bound(args.to_datetime, BEGINNING)
        if not target.is_time:
            from consumers.replay.errors import BadRangeError

            raise BadRangeError(f"--to-datetime {args.to_datetime!r} is not an ISO datetime")
    elif args.to_offset is not None:
        target = parse_bound(args.to_offset, BEGINNING)
    else:
        target = Bound(BEGINNING if args.to_earliest else END)
    settings = _settings(args)
    plan = offsets.plan_reset(settings, args.group, target, args.topic)
    print(plan.describe())
    if not args.execute:
        if plan.members:
            raise ActiveGroupError(
                f"dry run: group {args.group!r} has active members, so --execute would be "
                "refused; stop its workers first"
            )
        print("dry run: nothing changed; add --execute to apply")
        return 0
    offsets.apply_reset(settings, plan)
    print(f"group {args.group}: offsets reset ({len(plan.changes)} partitions)")
    return 0


def cmd_rebuild(args) -> int:
    from consumers.replay.progress import Activity
    from consumers.replay.rebuild import rebuild

    settings = _settings(args)
    with Activity(f"rebuilding {args.app} (a copy of the app, then the diff; up to "
                  f"{args.timeout:g}s)"):
        report = rebuild(
            settings,
            args.app,
            start=args.start,
            into=args.into,
            timeout_s=args.timeout,
            keep=args.keep,
            live_topic=args.live_topic,
            live_app_id=args.live_app_id,
        )
    print(report.describe())
    return 0 if report.differences == 0 else EXIT_FAILURE
