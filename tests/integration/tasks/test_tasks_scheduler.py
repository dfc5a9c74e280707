"""Two schedulers run the same schedule for 60 s: every 2 s tick is enqueued exactly once."""

from __future__ import annotations

import time
import uuid

import pytest
from taskproject import TaskProject

from deploy.runtime import process

pytestmark = pytest.mark.integration

RUN_S = 60
EVERY_MS = 2000


def test_two_schedulers_enqueue_each_tick_exactly_once(settings, tmp_path):
    demo = TaskProject(tmp_path / "project", settings, uuid.uuid4().hex[:8], schedule=(
        '[tool.event-pipeline.schedule]\n'
        'often = { task = "demo.tasks.add", every = "2s", args = [1, 2] }\n'))
    demo.prepare()
    first = demo.start_scheduler(1)
    demo.start_scheduler(2)
    try:
        time.sleep(RUN_S)
        # A restart of one copy meanwhile must not fire anything twice either.
        process.kill9(first)
        demo.start_scheduler(3)
        time.sleep(6)
    finally:
        demo.stop_all()

    from producer_django.tasks.scheduler import tick_id

    payloads = demo.outbox_payloads()
    ids = [p["task_id"] for p in payloads]
    assert len(ids) == len(set(ids)), "a tick was enqueued twice"
    assert all(p["task"] == "demo.tasks.add" and p["args"] == "[1,2]" for p in payloads)
    ticks = sorted(int(p["occurred_at"]) for p in payloads)
    # Every tick between the first and the last enqueued one is there, once.
    by_id = {tick_id("often", t): t for t in _ticks_between(ticks[0] - EVERY_MS,
                                                              ticks[-1] + EVERY_MS)}
    found = sorted(by_id[i] for i in ids)
    assert found == list(range(found[0], found[-1] + 1, EVERY_MS)), "a tick was skipped"
    assert len(found) >= (RUN_S - 10) * 1000 // EVERY_MS
    logs = demo.log("scheduler-1.log") + demo.log("scheduler-2.log")
    assert "enqueued demo.tasks.add" in logs
    print(f"\n{len(found)} ticks enqueued once each by two schedulers")


def _ticks_between(start_ms: int, end_ms: int) -> list[int]:
    first = start_ms - start_ms % EVERY_MS
    return list(range(first, end_ms + 1, EVERY_MS))
