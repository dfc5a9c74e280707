"""Starting Django with the console's settings, its tables migrated and its users ready."""

from __future__ import annotations

import os
from pathlib import Path

from deploy.console.home import ConsoleHome

SETTINGS_MODULE = "deploy.console.settings"
OPERATORS = "operators"


def prepare(pipeline_home: str | Path | None = None) -> ConsoleHome:
    """Make the console's home and secret, set Django up, migrate; the dev operator exists."""
    home = ConsoleHome.of(pipeline_home)
    home.dir.mkdir(parents=True, exist_ok=True)
    home.secret_key()
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    credentials = home.new_credentials()
    save_user(credentials["username"], credentials["password"], operator=True)
    return home


def save_user(username: str, password: str, *, operator: bool) -> None:
    """Create or update a console user; operators get the operator permission (via a group)."""
    from django.contrib.auth.models import Group, Permission, User

    group, _ = Group.objects.get_or_create(name=OPERATORS)
    group.permissions.add(Permission.objects.get(codename="operate", content_type__app_label=
                                                 "console"))
    user, _ = User.objects.get_or_create(username=username)
    user.set_password(password)
    user.save()
    if operator:
        user.groups.add(group)
    else:
        user.groups.remove(group)
