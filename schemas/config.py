"""Connection settings shared by every part of the pipeline.

Environment variables are read here and nowhere else (`from_env`). Everything else receives a
`ConnectionSettings` and turns it into a client configuration with one method.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092"
DEFAULT_SCHEMA_REGISTRY_URL = "http://127.0.0.1:8081/apis/ccompat/v7"
# Fail fast: an unreachable broker or registry must be reported within seconds, never hang.
DEFAULT_TIMEOUT_S = 5.0


class _DebugLogger:
    """What confluent-kafka's `logger` setting needs (`log(level, msg, *args)`): every
    librdkafka line at DEBUG, its own level kept in the text."""

    def __init__(self, name: str):
        self._logger = logging.getLogger(name)

    def log(self, level: int, msg: str, *args) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            self._logger.debug("[%s] " + msg, logging.getLevelName(level), *args)


CLIENT_LOGGER = _DebugLogger("librdkafka")


@dataclass(frozen=True)
class ConnectionSettings:
    bootstrap_servers: str = DEFAULT_BOOTSTRAP_SERVERS
    schema_registry_url: str = DEFAULT_SCHEMA_REGISTRY_URL
    database_url: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    kafka_extra: Mapping[str, str] = field(default_factory=dict, repr=False)
    registry_extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    def kafka_conf(self, **overrides) -> dict:
        """A librdkafka configuration dict; callers add their own keys through overrides.

        librdkafka's own log lines (a line per failed connect, 20 a second while a broker is
        down) go to the Python logger `librdkafka` at DEBUG, never straight to stderr: callers
        report failures as errors, and `-v` or a component's log shows the detail.
        """
        conf = {"bootstrap.servers": self.bootstrap_servers, "logger": CLIENT_LOGGER}
        conf.update(self.kafka_extra)
        conf.update(overrides)
        return conf

    def registry_conf(self) -> dict:
        """Configuration for confluent_kafka's SchemaRegistryClient, with the
        SCHEMA_REGISTRY_CONF_* keys (e.g. basic.auth.user.info) of a secured registry."""
        return {
            "url": self.schema_registry_url,
            "timeout": max(1, int(self.timeout_s)),
            "max.retries": 1,
            **self.registry_extra,
        }


KAFKA_CONF_PREFIX = "KAFKA_CONF_"
REGISTRY_CONF_PREFIX = "SCHEMA_REGISTRY_CONF_"
SCRAM_MECHANISM = "SCRAM-SHA-512"


def from_env(environ: Mapping[str, str] | None = None) -> ConnectionSettings:
    """Settings from KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL and DATABASE_URL.

    `KAFKA_CONF_<KEY>` variables pass extra librdkafka keys for a real cluster, e.g.
    KAFKA_CONF_SECURITY_PROTOCOL=SASL_SSL becomes security.protocol=SASL_SSL;
    `SCHEMA_REGISTRY_CONF_<KEY>` do the same for the registry client, e.g.
    SCHEMA_REGISTRY_CONF_BASIC_AUTH_USER_INFO=user:secret.
    """
    env = os.environ if environ is None else environ
    return ConnectionSettings(
        bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP_SERVERS,
        schema_registry_url=env.get("SCHEMA_REGISTRY_URL") or DEFAULT_SCHEMA_REGISTRY_URL,
        database_url=env.get("DATABASE_URL") or None,
        kafka_extra=_prefixed(env, KAFKA_CONF_PREFIX),
        registry_extra=_prefixed(env, REGISTRY_CONF_PREFIX),
    )


def _prefixed(env: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {
        key[len(prefix) :].lower().replace("_", "."): value
        for key, value in env.items()
        if key.startswith(prefix)
    }


def conf_env(conf: Mapping[str, str], prefix: str = KAFKA_CONF_PREFIX) -> dict[str, str]:
    """The inverse of `from_env` for client keys: {"sasl.username": "x"} ->
    {"KAFKA_CONF_SASL_USERNAME": "x"}, how a parent hands a child process its client settings."""
    return {prefix + key.upper().replace(".", "_"): str(value) for key, value in conf.items()}


def scram_conf(username: str, password: str, ca_location: str | None = None) -> dict[str, str]:
    """librdkafka keys of a SASL_SSL client with SCRAM-SHA-512, trusting `ca_location` (a PEM
    file; None: the system's trust store)."""
    conf = {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": SCRAM_MECHANISM,
        "sasl.username": username,
        "sasl.password": password,
    }
    if ca_location:
        conf["ssl.ca.location"] = ca_location
    return conf


@dataclass(frozen=True)
class LocalPaths:
    """Where the local stack keeps its state (logs, data, pids) and its downloads."""

    home: str
    cache: str


def paths_from_env(environ: Mapping[str, str] | None = None) -> LocalPaths:
    """PIPELINE_HOME (default ~/.local/state/event-pipeline) and PIPELINE_CACHE_DIR."""
    env = os.environ if environ is None else environ
    user_home = env.get("HOME") or os.path.expanduser("~")
    state = env.get("XDG_STATE_HOME") or os.path.join(user_home, ".local", "state")
    cache = env.get("XDG_CACHE_HOME") or os.path.join(user_home, ".cache")
    return LocalPaths(
        home=env.get("PIPELINE_HOME") or os.path.join(state, "event-pipeline"),
        cache=env.get("PIPELINE_CACHE_DIR") or os.path.join(cache, "event-pipeline"),
    )


def external_services(environ: Mapping[str, str] | None = None) -> set[str]:
    """Which services the environment points at an existing deployment ("kafka", "registry")."""
    env = os.environ if environ is None else environ
    found = set()
    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        found.add("kafka")
    if env.get("SCHEMA_REGISTRY_URL"):
        found.add("registry")
    return found


# The local stack's database file when DATABASE_URL is not set.
DEFAULT_SQLITE_FILE = "pipeline.sqlite3"


def database_url(settings: ConnectionSettings, paths: LocalPaths) -> str:
    """DATABASE_URL, or the SQLite file in the local stack's home."""
    return settings.database_url or "sqlite:///" + os.path.join(paths.home, DEFAULT_SQLITE_FILE)

