"""Settings of a stream app, read from the environment in one place (`from_env`).

Every variable is optional; an unknown `STREAMS_*` variable is an error (a typo must not be
silently ignored). The replay tool runs a second copy of an app next to the live one by giving
it another app id, web port, output topic and state directory:

    STREAMS_APP_ID              faust app id = consumer group, prefix of its internal and
                                changelog topics (default: `streams-<app>`)
    STREAMS_WEB_HOST            interface of the faust web server (default 127.0.0.1)
    STREAMS_WEB_PORT            port of the faust web server (default: 6066 fanout, 6067 inventory)
    STREAMS_DATA_DIR            local table state (default: ./streams-data/<app id>)
    STREAMS_STORE               `rocksdb` (default) or `memory`
    STREAMS_LEVELS_TOPIC        where InventoryLevel is published (default shop.inventory.levels)
    STREAMS_ALERTS_TOPIC        where LowStockDetected is published (default shop.alerts)
    STREAMS_SUMMARY_TOPIC       where SalesSummaryHourly is published (default shop.sales.summary)
    STREAMS_LOW_STOCK_THRESHOLD a level below this raises LowStockDetected (default 5)
    STREAMS_SUMMARY_INTERVAL_S  run the sales summary every N seconds instead of at minute 0
                                of every hour (tests, demos)
    STREAMS_OPS_EMAIL           recipient of low-stock notifications (default ops@example.com)

Connection settings (KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL) come from `schemas.config`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from schemas import config
from schemas.errors import ConfigError

APPS = ("fanout", "inventory")
DEFAULT_WEB_PORTS = {"fanout": 6066, "inventory": 6067}
STORES = ("rocksdb", "memory")

_PREFIX = "STREAMS_"
_KNOWN = {
    "APP_ID", "WEB_HOST", "WEB_PORT", "DATA_DIR", "STORE", "LEVELS_TOPIC", "ALERTS_TOPIC",
    "SUMMARY_TOPIC", "LOW_STOCK_THRESHOLD", "SUMMARY_INTERVAL_S", "OPS_EMAIL",
}


@dataclass(frozen=True)
class StreamSettings:
    app: str
    connection: config.ConnectionSettings
    app_id: str
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    data_dir: Path = Path("streams-data")
    store: str = "rocksdb"
    levels_topic: str = "shop.inventory.levels"
    alerts_topic: str = "shop.alerts"
    summary_topic: str = "shop.sales.summary"
    low_stock_threshold: int = 5
    summary_interval_s: float | None = None
    ops_email: str = "ops@example.com"

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


def from_env(app: str, environ: Mapping[str, str] | None = None) -> StreamSettings:
    env = os.environ if environ is None else environ
    if app not in APPS:
        raise ConfigError(f"unknown stream app {app!r}; known apps: {', '.join(APPS)}")
    unknown = sorted(
        k for k in env if k.startswith(_PREFIX) and k[len(_PREFIX):] not in _KNOWN
    )
    if unknown:
        known = ", ".join(_PREFIX + k for k in sorted(_KNOWN))
        raise ConfigError(f"unknown settings {', '.join(unknown)}; known settings: {known}")

    def get(name: str, default):
        value = env.get(_PREFIX + name)
        return default if value in (None, "") else value

    app_id = get("APP_ID", f"streams-{app}")
    store = get("STORE", "rocksdb")
    if store not in STORES:
        raise ConfigError(f"STREAMS_STORE={store!r}; use one of {', '.join(STORES)}")
    interval = get("SUMMARY_INTERVAL_S", None)
    return StreamSettings(
        app=app,
        connection=config.from_env(env),
        app_id=app_id,
        web_host=get("WEB_HOST", "127.0.0.1"),
        web_port=_number(int, "WEB_PORT", get("WEB_PORT", DEFAULT_WEB_PORTS[app])),
        data_dir=Path(get("DATA_DIR", os.path.join("streams-data", app_id))),
        store=store,
        levels_topic=get("LEVELS_TOPIC", "shop.inventory.levels"),
        alerts_topic=get("ALERTS_TOPIC", "shop.alerts"),
        summary_topic=get("SUMMARY_TOPIC", "shop.sales.summary"),
        low_stock_threshold=_number(int, "LOW_STOCK_THRESHOLD", get("LOW_STOCK_THRESHOLD", 5)),
        summary_interval_s=(
            None if interval is None else _number(float, "SUMMARY_INTERVAL_S", interval)
        ),
        ops_email=get("OPS_EMAIL", "ops@example.com"),
    )


def _number(kind, name: str, value):
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{_PREFIX}{name}={value!r} is not a valid {kind.__name__}"
        ) from None
