"""Django inside a worker process, set up once before the handler is built.

When the project declares `django_settings`, the worker runs with them (DJANGO_SETTINGS_MODULE
set to them for `django.setup()`, the project root importable).
Handlers may then use the project's models, cache, templates and e-mail settings, and the
worker's database is the project's default database, the one whose outbox the relay drains.
Without `django_settings`, Django gets a minimal standalone configuration on the worker's
database (no apps; templates and mail work). Settings already configured in this process (a
test process) are kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import django
from django.conf import settings

from schemas import dburl
from schemas import project as projects
from schemas.errors import ConfigError

ENV_VAR = "DJANGO_SETTINGS_MODULE"


def prepare(project: projects.Project, database_url: str | None,
            default_url: Callable[[], str]) -> str:
    """Configure Django for a worker and return the database URL the worker uses:
    `database_url` if given (DATABASE_URL, --database), else the project's default database
    when it declares Django settings, else `default_url()`."""
    if project.django_settings:
        use_project_settings(project)
        return database_url or project_database_url()
    url = database_url or default_url()
    configure_standalone(url)
    return url


def use_project_settings(project: projects.Project) -> None:
    if settings.configured:
        return
    project.activate()
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = project.django_settings
    try:
        django.setup()
    except ImportError as exc:
        raise projects.ProjectError(
            f"`django_settings` = {project.django_settings!r} in {project.source}: cannot "
            f"import it ({exc}); check the dotted path and that the project root is importable"
        ) from exc
    finally:
        # Django has read it; processes started from here (a test's workers of another
        # project) must not inherit it.
        if previous is None:
            del os.environ[ENV_VAR]
        else:
            os.environ[ENV_VAR] = previous


def project_database_url() -> str:
    """The URL of the configured `DATABASES["default"]`."""
    entry = settings.DATABASES.get("default")
    if not entry:
        raise ConfigError(
            f"the Django settings {settings.SETTINGS_MODULE or '(configured in code)'} have no "
            "DATABASES['default']; add one, or give the worker DATABASE_URL (or --database)"
        )
    return dburl.from_django(entry)


def configure_standalone(database_url: str) -> None:
    if settings.configured:
        return
    settings.configure(
        DATABASES={"default": dburl.to_django(database_url)},
        INSTALLED_APPS=[],
        USE_TZ=True,
        TIME_ZONE="UTC",
        # Django's own setting names, so the local stack's SMTP server reaches handlers that
        # send mail whether or not the project has Django settings.
        EMAIL_HOST=os.environ.get("EMAIL_HOST", "127.0.0.1"),
        EMAIL_PORT=int(os.environ.get("EMAIL_PORT", "25")),
    )
    django.setup()
