"""`pipeline streams run <name>`, `pipeline streams get <app> <view> <key>`, and the short form
`pipeline streams <view> <key>` for the first app that declares a table (with `revenue = { app
= "...", table = "totals" }`, `pipeline streams totals EUR` = `get revenue totals EUR`).

The query commands ask an app's web server for `GET /<view>/<key>`; the view is whatever page
the app serves (streams.web.add_keyed_view), answered by the worker that owns the key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from schemas.errors import PipelineError, ServiceUnavailable


class UnknownKey(PipelineError):
    """The stream app answered 404 for the key."""


def add_commands(subparsers) -> None:
    streams = subparsers.add_parser(
        "streams",
        help="the faust stream apps",
        description="run NAME: run a declared app's worker in the foreground. "
        "get APP VIEW KEY: GET /VIEW/KEY from the app's web server. "
        "VIEW KEY: the same, from the app that declares a table.",
    )
    streams.add_argument("action", metavar="ACTION", help="run | get | a VIEW of the table app")
    streams.add_argument("rest", nargs=argparse.REMAINDER, help="the action's arguments")
    streams.set_defaults(func=cmd_streams)


def _parser(action: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"pipeline streams {action}")
    if action == "run":
        parser.add_argument("name", help="an app declared under [tool.event-pipeline.streams]")
        return parser
    if action == "get":
        parser.add_argument("app", help="a declared stream app")
        parser.add_argument("view", help="the page the app serves, e.g. its table's name")
    parser.add_argument("key")
    parser.add_argument("--url", help="the app's web server (default: the local stack's)")
    return parser


def cmd_streams(args) -> int:
    options = _parser(args.action).parse_args(args.rest)
    if args.action == "run":
        return run(options.name)
    if args.action == "get":
        return query(options.app, options.view, options.key, options.url)
    return query(None, args.action, options.key, options.url)


def run(name: str) -> int:
    from streams import worker

    argv = worker.declared_argv(name)
    os.environ.update(worker.env(name))
    # Replace this process: faust handles SIGTERM/SIGINT and shuts the worker down cleanly.
    os.execv(argv[0], argv)
    return 0  # not reached


def _faust_main() -> None:
    from faust.cli.faust import cli

    from deploy.logs import quiet_http_clients

    # faust configures logging without disabling existing loggers: these levels stay.
    quiet_http_clients()
    cli(prog_name="faust")


def query(app: str | None, view: str, key: str, url: str | None = None) -> int:
    import httpx

    from schemas import project

    if app is None:
        from streams.stack import query_app

        app = query_app()
        if app is None:
            raise project.ProjectError(
                f"no stream app is declared in {project.current().source}; add one under "
                f"[{project.TABLE}.streams]"
            )
    project.current().stream(app)  # an undeclared name: an error listing the declared ones
    url = url or _stack_url(app)
    where = f"streams-{app} web server"
    try:
        response = httpx.get(f"{url}/{view}/{key}", timeout=10)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(where, url, str(exc), "Start it with `pipeline up`") from exc
    if response.status_code == 404:
        raise UnknownKey(_error_of(response) or (
            f"streams-{app} has no {view!r} entry for {key!r} (or serves no /{view}/ page)"
        ))
    if response.status_code != 200:
        raise ServiceUnavailable(
            where, url, f"HTTP {response.status_code}: {response.text}",
            "A rebalance may be in progress; try again in a few seconds",
        )
    json.dump(response.json(), sys.stdout, indent=2)
    print()
    return 0


def _stack_url(app: str) -> str:
    from deploy.stack import Stack

    try:
        return Stack().status()["streams"]["apps"][app]["url"]
    except (KeyError, TypeError):
        raise PipelineError(
            f"the local stack knows no web server of streams-{app}; start it with `pipeline "
            "up`, or give its address with --url"
        ) from None


def _error_of(response) -> str | None:
    try:
        return response.json().get("error")
    except ValueError:
        return None


if __name__ == "__main__":
    _faust_main()
