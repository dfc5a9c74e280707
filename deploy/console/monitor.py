"""The console's background sampler and the overview it keeps ready.

Every `interval_s` one pass reads the stack's components, each catalog topic's end offsets,
each watched group's lag, the outbox backlog, the dead-letter totals and the stream apps'
/health; it stores end offsets and lags as `MetricSample` rows (the charts) and keeps the rest
as the latest `Overview` in memory, so a page never waits on the cluster. Samples older than
`keep_s` are deleted on each pass (an indexed range delete).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from consumers import dlq
from deploy.console import metrics, outbox
from deploy.console.cluster import Cluster, GroupState, watched_groups
from schemas import project as projects
from schemas.config import ConnectionSettings

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0
DEFAULT_KEEP_S = 3600.0


@dataclass
class Overview:
    at_ms: int = 0
    components: dict = field(default_factory=dict)
    groups: dict[str, GroupState] = field(default_factory=dict)
    backlog: outbox.Backlog | None = None
    dead_letters: list = field(default_factory=list)  # DeadLetterSummary
    streams: dict = field(default_factory=dict)  # app -> {"url", "health": dict | None}
    problems: list[str] = field(default_factory=list)


class Monitor:
    def __init__(self, settings: ConnectionSettings, database_url: str, home: Path,
                 interval_s: float = DEFAULT_INTERVAL_S, keep_s: float = DEFAULT_KEEP_S):
        self.settings = settings
        self.database_url = database_url
        self.home = Path(home)
        self.interval_s = interval_s
        self.keep_s = keep_s
        self._latest = Overview()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def latest(self) -> Overview:
        return self._latest

    def refresh(self) -> Overview:
        """Sample now (before the thread's first pass finished) and keep the result."""
        self._latest = self.sample()
        return self._latest

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="console-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + 30)

    def _run(self) -> None:
        from django.db import close_old_connections

        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self._latest = self.sample()
            except Exception:  # a pass that fails is logged; the next one tries again
                metrics.SAMPLE_FAILURES.inc()
                logger.exception("sampling pass failed")
            finally:
                metrics.SAMPLE_SECONDS.observe(time.monotonic() - began)
                close_old_connections()
            self._stop.wait(max(0.5, self.interval_s - (time.monotonic() - began)))

    def sample(self) -> Overview:
        """One pass: read everything, store the samples, return the overview."""
        from deploy.console.models import MetricSample

        now_ms = int(time.time() * 1000)
        view = Overview(at_ms=now_ms)
        rows = []
        view.components, view.streams = self._components(view.problems)
        with Cluster(self.settings) as cluster:
            try:
                present = cluster.topics()
                for topic in _catalog_topics():
                    if topic not in present:
                        continue
                    for p, (_low, high) in cluster.watermarks(topic, present[topic]).items():
                        rows.append(MetricSample(at_ms=now_ms, kind="end", name=topic,
                                                 topic=topic, partition=p, value=high))
                for group in watched_groups():
                    state = cluster.group(group)
                    view.groups[group] = state
                    rows.extend(
                        MetricSample(at_ms=now_ms, kind="lag", name=group, topic=p.topic,
                                     partition=p.partition, value=p.lag)
                        for p in state.partitions
                    )
            except Exception as exc:  # noqa: BLE001 - the page says what is wrong
                view.problems.append(f"Kafka: {exc}")
        view.backlog = outbox.backlog(self.database_url)
        view.dead_letters = self._dead_letters(view.problems)
        MetricSample.objects.bulk_create(rows)
        MetricSample.objects.filter(at_ms__lt=now_ms - int(self.keep_s * 1000)).delete()
        return view

    def _components(self, problems: list[str]) -> tuple[dict, dict]:
        from deploy.stack import Stack

        try:
            status = Stack(self.home).status()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"stack status: {exc}")
            return {}, {}
        streams = {}
        for app, info in (status.get("streams") or {}).get("apps", {}).items():
            streams[app] = {"url": info["url"], "health": _stream_health(info["url"])}
        return status.get("components", {}), streams

    def _dead_letters(self, problems: list[str]) -> list:
        out = []
        for group in dlq.declared_groups():
            try:
                out.append(dlq.summary(self.settings, group, missing_ok=True))
            except Exception as exc:  # noqa: BLE001
                problems.append(f"dead letters of {group}: {exc}")
        return out


def _catalog_topics() -> list[str]:
    from deploy.topics import project_catalog

    return [spec.name for spec in project_catalog(projects.current())]


def _stream_health(url: str) -> dict | None:
    try:
        return httpx.get(f"{url}/health", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None


# -- series for the charts ----------------------------------------------------------------------


def topic_rates(since_ms: int) -> dict[str, list[tuple[int, float]]]:
    """{topic: [(at_ms, events/s)]} from consecutive end-offset samples."""
    from django.db.models import Sum

    from deploy.console.models import MetricSample

    totals: dict[str, list[tuple[int, int]]] = {}
    rows = (
        MetricSample.objects.filter(kind="end", at_ms__gte=since_ms)
        .values("name", "at_ms").annotate(total=Sum("value")).order_by("name", "at_ms")
    )
    for row in rows:
        totals.setdefault(row["name"], []).append((row["at_ms"], row["total"]))
    rates = {}
    for topic, points in totals.items():
        rates[topic] = [
            (t1, max(0.0, (v1 - v0) * 1000.0 / (t1 - t0)))
            for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False)
            if t1 > t0
        ]
    return rates


def lag_series(group: str, since_ms: int) -> dict[str, list[tuple[int, float]]]:
    """{"topic[partition]": [(at_ms, lag)]} of one group, for the partitions that had a lag in
    the window (a group reads many idle retry partitions); their total if none had."""
    from deploy.console.models import MetricSample

    series: dict[str, list[tuple[int, float]]] = {}
    rows = (
        MetricSample.objects.filter(kind="lag", name=group, at_ms__gte=since_ms)
        .values_list("topic", "partition", "at_ms", "value").order_by("at_ms")
    )
    for topic, partition, at_ms, value in rows:
        series.setdefault(f"{topic}[{partition}]", []).append((at_ms, float(value)))
    busy = {name: values for name, values in series.items() if any(v for _, v in values)}
    if busy or not series:
        return busy
    totals: dict[int, float] = {}
    for values in series.values():
        for at_ms, value in values:
            totals[at_ms] = totals.get(at_ms, 0.0) + value
    return {f"all {len(series)} partitions": sorted(totals.items())}
