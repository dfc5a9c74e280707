"""`pipeline up` plug-in: the project's Django web app (gunicorn) and its outbox relay.

The relay runs when the declaration names `django_settings`, the web server when it also names
`web`. Both run with the stack's connection settings and the project's Django settings, and keep
their state under `<home>/django`: the dev user's API token (when the project uses DRF's token
auth) and admin password, logs, the relay heartbeat, and the home's SECRET_KEY (`secret_key`,
0600, made on first start and reused; DJANGO_SECRET_KEY in the environment wins). The web port
is picked once per home with the stack's other ports (`Stack.area_ports`) and also written to
`<home>/django/port`. The web server runs with DEBUG off unless DJANGO_DEBUG=1 is set; the
settings read it and the other web variables through `producer_django.web.conf`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from deploy.runtime.ports import free_port
from deploy.runtime.process import ProcessSpec
from producer_django.web.secret import ensure_secret_key
from schemas import project as projects
from schemas.config import ConnectionSettings, LocalPaths, database_url, paths_from_env
from schemas.errors import PipelineError

PREFERRED_PORT = 8000
PREFERRED_RELAY_METRICS_PORT = 9400
# The relay touches its heartbeat on every pass and while waiting for delivery reports.
HEARTBEAT_MAX_AGE_S = 15.0
SETUP_TIMEOUT_S = 300


class SetupFailed(PipelineError):
    """Migrations or the dev-user setup failed; the message names the log."""


def components(stack) -> list:
    project = projects.current()
    if not project.django_settings:
        return []
    metrics = relay_metrics_port(stack)
    if project.web:
        server = DjangoServer(stack.settings, stack.home, port=web_port(stack))
        return [server, OutboxRelay(stack.settings, stack.home, metrics_port=metrics)]
    # Without a web server to prepare the database, the relay migrates it before it starts.
    return [OutboxRelay(stack.settings, stack.home, migrate=True, metrics_port=metrics)]


def status(stack) -> dict:
    project = projects.current()
    if not project.django_settings:
        return {}
    relay = {"relay": {"metrics_url": f"http://127.0.0.1:{relay_metrics_port(stack)}/metrics"}}
    if not project.web:
        return relay
    server = DjangoServer(stack.settings, stack.home, port=web_port(stack))
    return {
        **relay,
        "django": {
            "url": server.url,
            "api_token": server.api_token(),
            "admin_url": server.url + "/admin/" if server.url else None,
            "admin_user": "dev",
            "admin_password_file": str(server.password_file),
        }
    }


def relay_metrics_port(stack) -> int:
    return stack.area_ports("relay", {"metrics": PREFERRED_RELAY_METRICS_PORT})["metrics"]


def web_port(stack) -> int:
    """The home's web port: the well-known one for the default stack when free, else a free
    one; a home that recorded one in `<home>/django/port` keeps it."""
    recorded = DjangoServer(stack.settings, stack.home).port
    adopt = {"web": recorded} if recorded else None
    return stack.area_ports("django", {"web": PREFERRED_PORT}, adopt=adopt)["web"]


def django_env(settings: ConnectionSettings, home: Path) -> dict[str, str]:
    """The environment of the project's Django processes: its settings module, its import path,
    the stack's connections (read through schemas.config) and the home's secret key file (made
    here on first use, so every process of the home signs with the same key)."""
    project = projects.current()
    if not project.django_settings:
        raise PipelineError(
            f"{project.source} declares no `django_settings`; add the dotted path of your Django "
            "settings module to [tool.event-pipeline]"
        )
    paths = LocalPaths(home=str(home), cache=paths_from_env().cache)
    return {
        **project.env(),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": project.django_settings,
        "PIPELINE_HOME": str(home),
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        "DATABASE_URL": database_url(settings, paths),
        "DJANGO_SECRET_KEY_FILE": str(ensure_secret_key(secret_key_file(home))),
    }


def secret_key_file(home: Path) -> Path:
    return Path(home) / "django" / "secret_key"


def manage_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "producer_django.manage", *args]


class DjangoServer:
    name = "django"

    def __init__(self, settings: ConnectionSettings, home: Path, port: int | None = None):
        self.settings = settings
        self.home = Path(home)
        self.dir = self.home / "django"
        self._port = port

    @property
    def log(self) -> Path:
        return self.dir / "server.log"

    @property
    def token_file(self) -> Path:
        return self.dir / "api_token"

    @property
    def password_file(self) -> Path:
        return self.dir / "admin_password"

    @property
    def port(self) -> int | None:
        if self._port:
            return self._port
        try:
            return int((self.dir / "port").read_text())
        except (OSError, ValueError):
            return None

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port,) if self.port else ()

    def api_token(self) -> str | None:
        try:
            return self.token_file.read_text().strip() or None
        except OSError:
            return None

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self._port = free_port(PREFERRED_PORT)
        (self.dir / "port").write_text(str(self.port))
        run_manage(
            self.settings, self.home, self.dir / "setup.log",
            "pipeline_setup", "--token-file", str(self.token_file),
            "--password-file", str(self.password_file),
        )

    def process(self) -> ProcessSpec:
        argv = [
            sys.executable, "-m", "gunicorn", projects.current().web,
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", "2", "--threads", "4",
            "--timeout", "60", "--graceful-timeout", "10",
            "--no-control-socket",
        ]
        # /health/ reports "degraded" when the relay's heartbeat (OutboxRelay) goes stale.
        env = {**django_env(self.settings, self.home),
               "PIPELINE_RELAY_HEARTBEAT_FILE": str(self.dir / "relay.heartbeat")}
        return ProcessSpec(argv=argv, log=self.log, env=env)

    def healthy(self) -> bool:
        if not self.url:
            return False
        try:
            return httpx.get(self.url + "/health/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


class OutboxRelay:
    name = "relay"

    def __init__(self, settings: ConnectionSettings, home: Path, migrate: bool = False,
                 metrics_port: int | None = None):
        self.settings = settings
        self.home = Path(home)
        self.dir = self.home / "django"
        self.migrate = migrate
        self.metrics_port = metrics_port

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.metrics_port,) if self.metrics_port else ()

    @property
    def log(self) -> Path:
        return self.dir / "relay.log"

    @property
    def heartbeat(self) -> Path:
        return self.dir / "relay.heartbeat"

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        # A heartbeat left by a dead relay must not make its successor look healthy.
        self.heartbeat.unlink(missing_ok=True)
        if self.migrate:
            run_manage(self.settings, self.home, self.dir / "setup.log", "pipeline_setup")

    def process(self) -> ProcessSpec:
        return ProcessSpec(
            argv=manage_argv(
                "relay_outbox", "--heartbeat", str(self.heartbeat),
                *(["--metrics-port", str(self.metrics_port)] if self.metrics_port else []),
            ),
            log=self.log,
            env=django_env(self.settings, self.home),
        )

    def healthy(self) -> bool:
        try:
            return time.time() - self.heartbeat.stat().st_mtime < HEARTBEAT_MAX_AGE_S
        except OSError:
            return False


def run_manage(settings: ConnectionSettings, home: Path, log: Path, *args: str) -> None:
    """Run one manage.py command with the stack's environment; SetupFailed names the log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            done = subprocess.run(
                manage_argv(*args), stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, **django_env(settings, home)}, timeout=SETUP_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise SetupFailed(f"manage.py {args[0]} timed out; see {log}") from exc
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise SetupFailed(f"manage.py {args[0]} failed; see {log}\n{tail}")
