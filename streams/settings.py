"""What every stream app shares, read from the environment in one place (`from_env`).

Every variable is optional. An app adds its own `STREAMS_*` keys by naming them
(`from_env(name, extra_keys=...)`) and reads them with `StreamSettings.get`; any other
`STREAMS_*` variable is an error (a typo must not be silently ignored).

    STREAMS_APP            the app's declared name (`pipeline streams run` and `pipeline up`
                           set it; default: the name the app passes to `from_env`)
    STREAMS_APP_ID         faust app id = consumer group, prefix of its internal and changelog
                           topics (default: `streams-<name>`)
    STREAMS_WEB_HOST       interface of the faust web server (default 127.0.0.1)
    STREAMS_WEB_PORT       port of the faust web server (default 6066)
    STREAMS_DATA_DIR       local table state (default: ./streams-data/<app id>)
    STREAMS_STORE          `rocksdb` (default) or `memory`
    STREAMS_OUTPUT_TOPICS  `topic=other,...`: write to `other` what the app writes to `topic`
    STREAMS_OUTPUT_PREFIX  write every other output topic `t` to `<prefix>t` instead
    STREAMS_REPLICATION_FACTOR  replicas of the topics faust creates (internal, changelog,
                           dead letters); default 1. `pipeline up` sets min(3, brokers), the
                           catalog's rule; set it for an external cluster

The two output variables run a copy of an app next to the live one without touching the live
outputs (`pipeline rebuild`); they apply to topics made with `streams.base.Context.output`.
Connection settings (KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL) come from `schemas.config`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from schemas import config
from schemas.errors import ConfigError

PREFIX = "STREAMS_"
DEFAULT_WEB_PORT = 6066
STORES = ("rocksdb", "memory")
KEYS = (
    "APP", "APP_ID", "WEB_HOST", "WEB_PORT", "DATA_DIR", "STORE", "OUTPUT_TOPICS",
    "OUTPUT_PREFIX", "REPLICATION_FACTOR",
)

T = TypeVar("T")


@dataclass(frozen=True)
class StreamSettings:
    app: str
    connection: config.ConnectionSettings
    app_id: str
    web_host: str = "127.0.0.1"
    web_port: int = DEFAULT_WEB_PORT
    data_dir: Path = Path("streams-data")
    store: str = "rocksdb"
    output_topics: Mapping[str, str] = field(default_factory=dict)
    output_prefix: str = ""
    replication_factor: int = 1
    # The app's own keys (without the prefix) that are set, as the raw strings.
    extra: Mapping[str, str] = field(default_factory=dict)
    extra_keys: tuple[str, ...] = ()

    @property
    def web_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}"

    @property
    def dead_letter_topic(self) -> str:
        # Same naming as the consumer-group workers (`<group>.dlq`), so `pipeline dlq` reads it.
        return f"{self.app_id}.dlq"

    @property
    def store_url(self) -> str:
        return "rocksdb://" if self.store == "rocksdb" else "memory://"

    def output_topic(self, name: str) -> str:
        """Where the app writes what it means to write to `name`."""
        if name in self.output_topics:
            return self.output_topics[name]
        return f"{self.output_prefix}{name}"

    def get(self, key: str, default: T, kind: Callable[[str], T] = str) -> T:
        """One of the app's own settings (`key` without the prefix), converted by `kind`."""
        if key not in self.extra_keys:
            raise ConfigError(
                f"{PREFIX}{key} is not one of this app's settings; name it in "
                f"`from_env(..., extra_keys=...)`"
            )
        value = self.extra.get(key)
        return default if value is None else _convert(kind, key, value)


def from_env(
    app: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    extra_keys: Iterable[str] = (),
) -> StreamSettings:
    """The settings of the app named by STREAMS_APP (else `app`), with its own `extra_keys`."""
    env = os.environ if environ is None else environ
    extra_keys = tuple(extra_keys)
    known = set(KEYS) | set(extra_keys)
    unknown = sorted(k for k in env if k.startswith(PREFIX) and k[len(PREFIX):] not in known)
    if unknown:
        names = ", ".join(PREFIX + k for k in sorted(known))
        raise ConfigError(f"unknown settings {', '.join(unknown)}; known settings: {names}")

    def get(name: str, default):
        value = env.get(PREFIX + name)
        return default if value in (None, "") else value

    name = get("APP", app)
    if not name:
        raise ConfigError(
            f"{PREFIX}APP is not set: run the app with `pipeline streams run <name>`, or set "
            f"{PREFIX}APP to its name under [tool.event-pipeline.streams]"
        )
    app_id = get("APP_ID", f"streams-{name}")
    store = get("STORE", "rocksdb")
    if store not in STORES:
        raise ConfigError(f"{PREFIX}STORE={store!r}; use one of {', '.join(STORES)}")
    return StreamSettings(
        app=name,
        connection=config.from_env(env),
        app_id=app_id,
        web_host=get("WEB_HOST", "127.0.0.1"),
        web_port=_convert(int, "WEB_PORT", get("WEB_PORT", DEFAULT_WEB_PORT)),
        data_dir=Path(get("DATA_DIR", os.path.join("streams-data", app_id))),
        store=store,
        output_topics=MappingProxyType(_topic_map(get("OUTPUT_TOPICS", ""))),
        output_prefix=get("OUTPUT_PREFIX", ""),
        replication_factor=_replication_factor(get("REPLICATION_FACTOR", 1)),
        extra=MappingProxyType(
            {k: env[PREFIX + k] for k in extra_keys if env.get(PREFIX + k) not in (None, "")}
        ),
        extra_keys=extra_keys,
    )


def _replication_factor(value) -> int:
    factor = _convert(int, "REPLICATION_FACTOR", value)
    if factor < 1:
        raise ConfigError(
            f"{PREFIX}REPLICATION_FACTOR={value!r}: a topic needs at least 1 replica; set it to "
            "min(3, the number of brokers)"
        )
    return factor


def _topic_map(value: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        live, sep, other = (s.strip() for s in item.partition("="))
        if not sep or not live or not other:
            raise ConfigError(
                f"{PREFIX}OUTPUT_TOPICS: {item!r} is not `topic=other`; write "
                "`topic=other,topic2=other2`"
            )
        pairs[live] = other
    return pairs


def _convert(kind: Callable[[str], T], name: str, value) -> T:
    try:
        return kind(value)
    except (TypeError, ValueError):
        what = getattr(kind, "__name__", "value")
        raise ConfigError(f"{PREFIX}{name}={value!r} is not a valid {what}; fix it") from None
