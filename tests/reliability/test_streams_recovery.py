"""Changelog recovery: a fresh worker with empty local state rebuilds the inventory table
from its changelog to exactly the same values, without reprocessing the source events."""

from __future__ import annotations

import pytest

from schemas.serde import EventSerializer
from streams.shop.testing import Workload, inventory_app
from streams.testing import WorkerProcess, free_port, publish, topic_size, wait_until

pytestmark = pytest.mark.integration


def table(worker, skus) -> dict:
    out = {}
    for sku in skus:
        response = worker.get(f"/inventory/{sku}", timeout_s=5)
        out[sku] = response.json() if response.status_code == 200 else response.status_code
    return out


def test_fresh_worker_rebuilds_the_table_from_the_changelog(
    settings, registry_client, tmp_path, unique
):
    serializer = EventSerializer(registry_client)
    app = inventory_app(settings, tmp_path / "first")
    workload = Workload(seed=29, prefix=f"c{unique}-").mixed(users=3, products=10, steps=120)
    publish(settings, serializer, workload.take())
    expected = dict(workload.on_hand)

    def on_hand(worker):
        return {sku: (v["on_hand"] if isinstance(v, dict) else v)
                for sku, v in table(worker, expected).items()}

    try:
        wait_until(lambda: on_hand(app.worker) == expected, 90, "the first worker to converge")
        before = table(app.worker, expected)
    finally:
        app.worker.stop()
    levels_before = topic_size(settings, app.levels)

    env = {k: v for k, v in app.worker.env.items() if k not in ("STREAMS_WEB_PORT",
                                                                "STREAMS_DATA_DIR")}
    fresh = WorkerProcess("inventory", settings, app_id=app.worker.app_id,
                          workdir=tmp_path / "fresh", web_port=free_port(), env=env)
    assert not (tmp_path / "fresh").exists()
    try:
        fresh.start()
        wait_until(lambda: table(fresh, expected) == before, 90,
                   "the fresh worker to restore the same table")
        assert table(fresh, expected) == before
        # Restored, not recomputed: no source event was applied again, so no new levels.
        assert topic_size(settings, app.levels) == levels_before
    finally:
        fresh.stop()
