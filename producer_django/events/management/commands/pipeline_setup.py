"""`manage.py pipeline_setup`: make the database ready and ensure the local dev user.

Idempotent, run by `pipeline up` before the web server starts: migrate, create the tables of
database caches, create the `dev` superuser once and write its admin password, and its API token
when the project uses DRF's token auth (`rest_framework.authtoken`), to files.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

DEV_USER = "dev"


class Command(BaseCommand):
    help = "Migrate, create cache tables, and ensure the local dev user (and its API token)."

    def add_arguments(self, parser):
        parser.add_argument("--token-file", type=Path, help="write the dev API token here")
        parser.add_argument("--password-file", type=Path, help="write the dev admin password here")

    def handle(self, *args, **options):
        _ensure_sqlite_directory()
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        if not apps.is_installed("django.contrib.auth"):
            self.stdout.write("database ready")
            return
        user, created = get_user_model().objects.get_or_create(
            username=DEV_USER, defaults={"is_staff": True, "is_superuser": True}
        )
        password_file = options["password_file"]
        if created or (password_file and not password_file.exists()):
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
            if password_file:
                _write_private(password_file, password)
        if not apps.is_installed("rest_framework.authtoken"):
            self.stdout.write(f"database ready; dev user {DEV_USER!r}")
            return
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=user)
        if options["token_file"]:
            _write_private(options["token_file"], token.key)
        self.stdout.write(f"database ready; dev user {DEV_USER!r} has an API token")


def _ensure_sqlite_directory() -> None:
    """The default database is a SQLite file in the local stack's home: create its directory."""
    db = connections[DEFAULT_DB_ALIAS].settings_dict
    name = str(db["NAME"])
    if db["ENGINE"].endswith("sqlite3") and name != ":memory:" and not name.startswith("file:"):
        Path(name).parent.mkdir(parents=True, exist_ok=True)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
