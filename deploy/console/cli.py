"""`pipeline console user NAME [--operator] [--password P]`: add or update a console user.

Users are read-only unless `--operator` (redrive dead letters, reset offsets). Without
`--password` one is generated and printed once.
"""

from __future__ import annotations

import secrets


def add_commands(sub) -> None:
    console = sub.add_parser("console", help="the operations console (users)")
    csub = console.add_subparsers(dest="action", required=True, metavar="ACTION")
    user = csub.add_parser("user", help="add or update a console user (read-only by default)")
    user.add_argument("username")
    user.add_argument("--operator", action="store_true",
                      help="may redrive dead letters and reset offsets")
    user.add_argument("--password", help="default: a generated one, printed once")
    user.set_defaults(func=cmd_user)


def cmd_user(args) -> int:
    from deploy.console import setup

    setup.prepare()
    password = args.password or secrets.token_urlsafe(12)
    setup.save_user(args.username, password, operator=args.operator)
    role = "operator" if args.operator else "read-only"
    print(f"console user {args.username} ({role}) saved")
    if not args.password:
        print(f"password: {password}")
    return 0
