"""`pipeline outbox status` and `pipeline manage ...`: the shop's Django side from the CLI."""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from schemas.errors import PipelineError


class ManageFailed(PipelineError):
    """A manage.py command exited non-zero."""


def add_commands(subparsers) -> None:
    outbox = subparsers.add_parser("outbox", help="the Django outbox (backlog, failures)")
    osub = outbox.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = osub.add_parser("status", help="backlog, oldest pending age, failing rows")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_outbox_status)

    manage = subparsers.add_parser(
        "manage", help="run a Django manage.py command against the local stack's settings"
    )
    manage.add_argument("args", nargs=argparse.REMAINDER, help="e.g. createsuperuser")
    manage.set_defaults(func=cmd_manage)


def _run(cli_args, args: list[str], capture: bool = False) -> subprocess.CompletedProcess:
    from deploy import connections
    from producer_django.stack import django_env, manage_argv
    from schemas.config import paths_from_env

    settings = connections.settings(cli_args)
    done = subprocess.run(
        manage_argv(*args),
        env={**os.environ, **django_env(settings, Path(paths_from_env().home))},
        capture_output=capture,
        text=True,
    )
    if done.returncode != 0:
        detail = (done.stderr or "").strip().splitlines()[-1:] if capture else []
        raise ManageFailed(f"manage.py {' '.join(args)} exited {done.returncode} {detail}")
    return done


def cmd_outbox_status(args) -> int:
    done = _run(args, ["outbox_status", *(["--json"] if args.json else [])], capture=True)
    print(done.stdout, end="")
    return 0


def cmd_manage(args) -> int:
    _run(args, list(args.args) or ["help"])
    return 0
