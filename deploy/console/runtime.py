"""The console's connections and its sampler, looked up at call time (never at import)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from schemas.config import ConnectionSettings, database_url, from_env, paths_from_env


@dataclass(frozen=True)
class Connections:
    settings: ConnectionSettings
    database_url: str


def connections() -> Connections:
    """The stack of PIPELINE_HOME (or what KAFKA_BOOTSTRAP_SERVERS / SCHEMA_REGISTRY_URL name),
    and the project's database as the stack's Django processes get it (DATABASE_URL, else the
    home's SQLite file)."""
    from deploy.stack import Stack

    paths = paths_from_env()
    settings = Stack(paths.home).settings
    return Connections(settings, from_env().database_url or database_url(settings, paths))


def monitor():
    """The process's sampler (started by `deploy.console.server`), else a one-off one."""
    from django.apps import apps

    config = apps.get_app_config("console")
    found = getattr(config, "monitor", None)
    if found is None:
        from deploy.console.monitor import Monitor

        conn = connections()
        found = config.monitor = Monitor(conn.settings, conn.database_url,
                                         paths_from_env().home)
    return found


def overview():
    """The latest overview; sampled now if the sampler has not finished a pass yet."""
    mon = monitor()
    latest = mon.latest()
    return latest if latest.at_ms else mon.refresh()


def now_ms() -> int:
    return int(time.time() * 1000)
