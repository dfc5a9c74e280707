"""The app's settings: `settings.PIPELINE` laid over DEFAULTS, read at call time.

Like librdkafka-style configs, every key is checked: an unknown key or a wrong type is an
error naming the key (system check events.E001/E002 at startup, ConfigError at call time).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.config import ConnectionSettings, from_env
from schemas.errors import ConfigError

# None for a connection key means "from the environment" (KAFKA_BOOTSTRAP_SERVERS, ...).
DEFAULTS: dict[str, Any] = {
    "PRODUCER_NAME": "django",
    "DATABASE": "default",
    "BOOTSTRAP_SERVERS": None,
    "SCHEMA_REGISTRY_URL": None,
    # Extra librdkafka keys (security, client.id, ...). The keys that make delivery safe are
    # owned by the relay and rejected here (RELAY_OWNED_KAFKA_KEYS).
    "PRODUCER_CONFIG": {},
    "MESSAGE_TIMEOUT_MS": 30_000,
    "BATCH_SIZE": 1000,
    "POLL_INTERVAL_S": 0.05,
    "BACKOFF_INITIAL_S": 0.5,
    "BACKOFF_MAX_S": 10.0,
    # Published rows are deleted after this many seconds (0: at the next cleanup pass).
    "RETENTION_S": 7 * 24 * 3600,
    "CLEANUP_INTERVAL_S": 60.0,
    # The health check reports "degraded" when the oldest pending row is older than this.
    "HEALTH_MAX_PENDING_AGE_S": 300.0,
    # The file `relay_outbox --heartbeat FILE` touches; the health check reports "degraded" when
    # it is missing or older than RELAY_HEARTBEAT_MAX_AGE_S. None: the environment's
    # PIPELINE_RELAY_HEARTBEAT_FILE (the local stack sets it), else not checked; "": not checked.
    "RELAY_HEARTBEAT_FILE": None,
    "RELAY_HEARTBEAT_MAX_AGE_S": 15.0,
}

HEARTBEAT_ENV = "PIPELINE_RELAY_HEARTBEAT_FILE"

_TYPES: dict[str, tuple[type, ...]] = {
    "PRODUCER_NAME": (str,),
    "DATABASE": (str,),
    "BOOTSTRAP_SERVERS": (str, type(None)),
    "SCHEMA_REGISTRY_URL": (str, type(None)),
    "PRODUCER_CONFIG": (dict,),
    "MESSAGE_TIMEOUT_MS": (int,),
    "BATCH_SIZE": (int,),
    "POLL_INTERVAL_S": (int, float),
    "BACKOFF_INITIAL_S": (int, float),
    "BACKOFF_MAX_S": (int, float),
    "RETENTION_S": (int, float),
    "CLEANUP_INTERVAL_S": (int, float),
    "HEALTH_MAX_PENDING_AGE_S": (int, float),
    "RELAY_HEARTBEAT_FILE": (str, type(None)),
    "RELAY_HEARTBEAT_MAX_AGE_S": (int, float),
}

RELAY_OWNED_KAFKA_KEYS = frozenset(
    {
        "enable.idempotence",
        "acks",
        "request.required.acks",
        "max.in.flight.requests.per.connection",
        "max.in.flight",
        "message.timeout.ms",
        "delivery.timeout.ms",
        "bootstrap.servers",
    }
)


@dataclass(frozen=True)
class Problem:
    key: str
    message: str
    hint: str
    code: str  # "unknown" | "type" | "value"


def problems(user: Any) -> list[Problem]:
    """Everything wrong with a PIPELINE dict, each naming the key and the fix."""
    if not isinstance(user, Mapping):
        return [
            Problem(
                "PIPELINE",
                f"settings.PIPELINE must be a dict, not {type(user).__name__}",
                "Set PIPELINE = {...} with keys from producer_django.events.conf.DEFAULTS.",
                "type",
            )
        ]
    found = []
    known = ", ".join(sorted(DEFAULTS))
    for key in sorted(set(user) - set(DEFAULTS)):
        found.append(
            Problem(key, f"unknown key PIPELINE[{key!r}]", f"Known keys: {known}.", "unknown")
        )
    for key, value in user.items():
        if key not in _TYPES:
            continue
        types = _TYPES[key]
        if not isinstance(value, types) or isinstance(value, bool):
            names = " or ".join(t.__name__ for t in types)
            found.append(
                Problem(
                    key,
                    f"PIPELINE[{key!r}] must be {names}, not {type(value).__name__}",
                    f"Default: {DEFAULTS[key]!r}.",
                    "type",
                )
            )
        elif isinstance(value, int | float) and value < 0:
            found.append(Problem(key, f"PIPELINE[{key!r}] must not be negative", "", "value"))
    if isinstance(user.get("BATCH_SIZE"), int) and user["BATCH_SIZE"] < 1:
        found.append(
            Problem("BATCH_SIZE", "PIPELINE['BATCH_SIZE'] must be at least 1", "", "value")
        )
    owned = RELAY_OWNED_KAFKA_KEYS & set(user.get("PRODUCER_CONFIG") or {})
    if owned:
        found.append(
            Problem(
                "PRODUCER_CONFIG",
                f"PIPELINE['PRODUCER_CONFIG'] sets {', '.join(sorted(owned))}, "
                "which the relay owns",
                "Remove them; use MESSAGE_TIMEOUT_MS for the delivery timeout and "
                "BOOTSTRAP_SERVERS for the brokers.",
                "value",
            )
        )
    return found


_effective: dict[str, Any] = {}


def pipeline_settings() -> dict[str, Any]:
    """The effective settings: defaults with settings.PIPELINE over them.

    Computed on first use and again after `setting_changed` (override_settings), never at
    import time.
    """
    if not _effective:
        from django.conf import settings

        user = getattr(settings, "PIPELINE", {})
        found = problems(user)
        if found:
            raise ConfigError("; ".join(f"{p.message}. {p.hint}".strip() for p in found))
        _effective.update(DEFAULTS)
        _effective.update(user)
    return dict(_effective)


def forget(setting: str = "PIPELINE", **kwargs) -> None:
    """`setting_changed` receiver: recompute the effective settings on next use."""
    if setting in ("PIPELINE", "DATABASES"):
        _effective.clear()


def connection_settings(conf: Mapping[str, Any] | None = None) -> ConnectionSettings:
    """Broker and registry addresses: PIPELINE keys, else the environment's."""
    conf = conf or pipeline_settings()
    env = from_env()
    return ConnectionSettings(
        bootstrap_servers=conf["BOOTSTRAP_SERVERS"] or env.bootstrap_servers,
        schema_registry_url=conf["SCHEMA_REGISTRY_URL"] or env.schema_registry_url,
        kafka_extra={**env.kafka_extra, **conf["PRODUCER_CONFIG"]},
        registry_extra=env.registry_extra,
    )


def relay_heartbeat_file(
    conf: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The relay heartbeat the health check reads: RELAY_HEARTBEAT_FILE, else the environment's
    PIPELINE_RELAY_HEARTBEAT_FILE; None when neither names one."""
    conf = conf or pipeline_settings()
    configured = conf["RELAY_HEARTBEAT_FILE"]
    if configured is not None:
        return configured or None
    env = os.environ if environ is None else environ
    return env.get(HEARTBEAT_ENV) or None
