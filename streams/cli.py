"""`pipeline streams run <app>` and `pipeline streams inventory|sales <sku>`."""

from __future__ import annotations

import json
import os
import sys

from schemas.errors import PipelineError, ServiceUnavailable


class UnknownKey(PipelineError):
    """The stream app answered 404 for the key."""


def add_commands(subparsers) -> None:
    streams = subparsers.add_parser("streams", help="the faust stream apps")
    ssub = streams.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = ssub.add_parser(
        "run", help="run a stream app's worker in the foreground (= faust -A streams.<app> worker)"
    )
    run.add_argument("app", help="a stream app declared under [tool.event-pipeline.streams]")
    run.set_defaults(func=cmd_run)
    for view, what in (("inventory", "on-hand level"), ("sales", "units sold per window")):
        query = ssub.add_parser(view, help=f"a SKU's {what}, from the worker that owns it")
        query.add_argument("sku")
        query.set_defaults(func=cmd_query, view=view)


def cmd_run(args) -> int:
    from streams.stack import worker_argv

    # Replace this process: faust handles SIGTERM/SIGINT and shuts the worker down cleanly.
    argv = worker_argv(args.app)
    os.execv(argv[0], argv)
    return 0  # not reached


def cmd_query(args) -> int:
    import httpx

    from deploy.stack import Stack

    url = Stack().status()["streams"]["url"]
    try:
        response = httpx.get(f"{url}/{args.view}/{args.sku}", timeout=10)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            "streams-inventory web server", url, str(exc), "Start it with `pipeline up`"
        ) from exc
    if response.status_code == 404:
        raise UnknownKey(response.json().get("error", f"unknown SKU {args.sku!r}"))
    if response.status_code != 200:
        raise ServiceUnavailable(
            "streams-inventory web server", url, f"HTTP {response.status_code}: {response.text}",
            "A rebalance may be in progress; try again in a few seconds",
        )
    json.dump(response.json(), sys.stdout, indent=2)
    print()
    return 0
