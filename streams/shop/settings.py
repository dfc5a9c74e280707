"""The shop's own stream settings, on top of what every app shares (`streams.settings`).

    STREAMS_LEVELS_TOPIC        where InventoryLevel is published (default shop.inventory.levels)
    STREAMS_ALERTS_TOPIC        where LowStockDetected is published, and fanout reads it
                                (default shop.alerts)
    STREAMS_SUMMARY_TOPIC       where SalesSummaryHourly is published (default shop.sales.summary)
    STREAMS_LOW_STOCK_THRESHOLD a level below this raises LowStockDetected (default 5)
    STREAMS_SUMMARY_INTERVAL_S  run the sales summary every N seconds instead of at minute 0
                                of every hour (tests, demos)
    STREAMS_OPS_EMAIL           recipient of low-stock notifications (default ops@example.com)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streams import settings as shared

KEYS = (
    "LEVELS_TOPIC", "ALERTS_TOPIC", "SUMMARY_TOPIC", "LOW_STOCK_THRESHOLD",
    "SUMMARY_INTERVAL_S", "OPS_EMAIL",
)


@dataclass(frozen=True)
class ShopSettings:
    stream: shared.StreamSettings
    levels_topic: str = "shop.inventory.levels"
    alerts_topic: str = "shop.alerts"
    summary_topic: str = "shop.sales.summary"
    low_stock_threshold: int = 5
    summary_interval_s: float | None = None
    ops_email: str = "ops@example.com"


def from_env(app: str, environ: Mapping[str, str] | None = None) -> ShopSettings:
    stream = shared.from_env(app, environ, extra_keys=KEYS)
    defaults = ShopSettings(stream)
    return ShopSettings(
        stream=stream,
        levels_topic=stream.get("LEVELS_TOPIC", defaults.levels_topic),
        alerts_topic=stream.get("ALERTS_TOPIC", defaults.alerts_topic),
        summary_topic=stream.get("SUMMARY_TOPIC", defaults.summary_topic),
        low_stock_threshold=stream.get("LOW_STOCK_THRESHOLD", defaults.low_stock_threshold, int),
        summary_interval_s=stream.get("SUMMARY_INTERVAL_S", None, float),
        ops_email=stream.get("OPS_EMAIL", defaults.ops_email),
    )
