"""The hourly sales summary: a periodic job on the faust leader (Celery beat, the Kafka way).

At minute 0 of every hour (or every STREAMS_SUMMARY_INTERVAL_S seconds) the leader asks every
worker that owns partitions of the sales table (faust's assignor knows their URLs) for its
units sold in the last completed clock hour, adds them up and publishes SalesSummaryHourly.
The id is derived from the app id and the hour, so a second run for the same hour (another
leader after a rebalance, the short test interval) carries the same id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

import aiohttp
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.errors import PipelineError
from schemas.ids import derived_event_id
from streams.shop import sales

logger = logging.getLogger(__name__)

GATHER_ATTEMPTS = 5
GATHER_RETRY_S = 2.0
REQUEST_TIMEOUT_S = 5.0


def last_completed_hour(now_ms: int) -> tuple[int, int]:
    end = now_ms - now_ms % sales.HOUR_MS
    return end - sales.HOUR_MS, end


def summary_record(app_id: str, start_ms: int, end_ms: int, units: dict[str, int]) -> dict:
    anchor = f"sales-summary:{app_id}:{start_ms}"
    event_id = derived_event_id(anchor, "SalesSummaryHourly")
    return {
        "event_id": event_id,
        "occurred_at": end_ms,
        "aggregate_id": f"sales-summary:{start_ms}",
        "aggregate_version": 1,
        "correlation_id": event_id,
        "causation_id": None,
        "producer": app_id,
        "hour_start": start_ms,
        "hour_end": end_ms,
        "units_sold": sum(units.values()),
        "units_by_sku": dict(sorted(units.items())),
    }


class SummaryJob:
    def __init__(self, app, ctx, sales_table, topic: str, interval_s: float | None = None):
        self.app = app
        self.ctx = ctx
        self.table = sales_table
        self.topic = ctx.output(topic)
        self.interval_s = interval_s

    def install(self) -> None:
        if self.interval_s:
            self.app.timer(self.interval_s, on_leader=True, name="sales-summary")(self.run)
        else:
            self.app.crontab("0 * * * *", on_leader=True)(self.run)

        @self.app.page("/sales-local/summary")
        async def local_summary(web, request):
            start, end = int(request.query["start"]), int(request.query["end"])
            return web.json({"units_by_sku": self.local_units(start, end)})

    def local_units(self, start_ms: int, end_ms: int) -> dict[str, int]:
        units = {}
        for sku, state in self.table.items():
            n = sales.units_between(state, start_ms, end_ms)
            if n:
                units[sku] = n
        return units

    async def run(self, *args) -> None:
        # An exception here would stop the whole worker; the next run tries again.
        try:
            await self._run()
        except (PipelineError, SchemaRegistryError) as exc:
            logger.error(
                "sales summary failed: %s (is the schema registered? run `pipeline schemas "
                "register`)", exc,
            )

    async def _run(self) -> None:
        start, end = last_completed_hour(int(time.time() * 1000))
        units = await self.gather(start, end)
        if units is None:
            logger.warning("sales summary for %s skipped: workers did not all answer", start)
            return
        record = summary_record(self.app.conf.id, start, end, units)
        await self.ctx.emit(self.topic, "SalesSummaryHourly", record)
        logger.info("sales summary for hour %s: %s units", start, record["units_sold"])

    async def gather(self, start_ms: int, end_ms: int) -> dict[str, int] | None:
        for _attempt in range(GATHER_ATTEMPTS):
            units = await self._gather_once(start_ms, end_ms)
            if units is not None:
                return units
            await asyncio.sleep(GATHER_RETRY_S)
        return None

    async def _gather_once(self, start_ms: int, end_ms: int) -> dict[str, int] | None:
        owners = self.app.router.table_metadata(self.table.name)
        covered = {p for topics in owners.values() for parts in topics.values() for p in parts}
        if covered != set(range(self.table.partitions)):
            return None  # mid-rebalance: not every partition has an owner yet
        totals: Counter = Counter()
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        for url in owners:
            query = {"start": str(start_ms), "end": str(end_ms)}
            try:
                async with self.app.http_client.get(
                    f"{str(url).rstrip('/')}/sales-local/summary", params=query, timeout=timeout
                ) as response:
                    if response.status != 200:
                        return None
                    totals.update((await response.json())["units_by_sku"])
            except (TimeoutError, aiohttp.ClientError) as exc:
                logger.info("sales summary: worker %s did not answer: %s", url, exc)
                return None
        return dict(totals)
