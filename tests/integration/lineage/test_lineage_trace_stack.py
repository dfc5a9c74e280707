"""`pipeline trace ORDER_ID` after a small shop workload through the HTTP API, with the stack
as `pipeline up` runs it (web app, relay, stream apps, workers, SMTP, lineage indexer).

The tree holds OrderPlaced with what it caused: NotificationRequested (with the notifications
worker's `done` effect), InventoryLevel and SearchDocumentUpserted, each child's causation id
the order's event id. The stream apps and the indexer serve their /metrics pages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from consumers.testing import wait_until
from deploy.stack import INFRASTRUCTURE

pytestmark = pytest.mark.integration

WAIT_S = 240  # generous: the stream apps may still be joining their groups on a loaded machine
NOT_NEEDED = ("console",)


@pytest.fixture(scope="module")
def pipeline(stack, settings):
    names = {c.name for c in stack.components()} - INFRASTRUCTURE - set(NOT_NEEDED)
    assert "lineage" in names
    stack.up(only=names)
    report = stack.status()
    unhealthy = [n for n in names if not report["components"][n]["healthy"]]
    assert not unhealthy, f"unhealthy components: {unhealthy}"
    yield report
    for name in sorted(names, reverse=True):
        stack.stop(name)


def pipeline_cli(stack, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIPELINE_HOME": str(stack.home),
           "KAFKA_BOOTSTRAP_SERVERS": stack.settings.bootstrap_servers,
           "SCHEMA_REGISTRY_URL": stack.settings.schema_registry_url}
    return subprocess.run([sys.executable, "-m", "deploy.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _by_type(roots: list[dict]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}

    def visit(node):
        found.setdefault(node["event_type"], []).append(node)
        for child in node["children"]:
            visit(child)

    for root in roots:
        visit(root)
    return found


def test_trace_of_an_order_holds_what_it_caused(pipeline, stack):
    tag = uuid.uuid4().hex[:8]
    api = httpx.Client(base_url=pipeline["django"]["url"], timeout=30,
                       headers={"Authorization": f"Token {pipeline['django']['api_token']}"})
    with api:
        user = api.post("/api/users/", json={"email": f"trace-{tag}@example.com",
                                             "name": "Trace"})
        assert user.status_code == 201, user.text
        sku = f"TRACE-{tag}"
        product = api.post("/api/products/", json={"sku": sku, "name": f"Kettle {tag}",
                                                   "price_cents": 900, "stock": 5})
        assert product.status_code == 201, product.text
        orders = []
        for quantity in (1, 2):
            placed = api.post("/api/orders/", json={"user_id": user.json()["user_id"],
                                                    "lines": [{"sku": sku, "quantity": quantity}]})
            assert placed.status_code == 201, placed.text
            orders.append(placed.json()["order_id"])

    wanted = {"OrderPlaced", "NotificationRequested", "InventoryLevel", "SearchDocumentUpserted"}
    # The inventory app publishes the newest level per SKU of each batch. Both orders may land
    # in one batch, and which of them the app applies last depends on which of shop.orders'
    # partitions it reads first (orders are keyed by their id), so only one of them is sure to
    # have an InventoryLevel of its own: trace whichever has.
    traced_order = None

    def trace_of(order_id: str):
        result = pipeline_cli(stack, "trace", order_id, "--json")
        if result.returncode != 0:
            return None
        roots = json.loads(result.stdout)
        found = _by_type(roots)
        done = any(e["group"] == "worker-notifications" and e["outcome"] == "done"
                   for note in found.get("NotificationRequested", []) for e in note["effects"]
                   if note["causation_id"] == roots[0]["event_id"])
        return roots if wanted <= set(found) and done else None

    def traced():
        nonlocal traced_order
        for order_id in reversed(orders):
            roots = trace_of(order_id)
            if roots is not None:
                traced_order = order_id
                return roots
        return None

    wait_until(traced, WAIT_S, interval_s=2, what=f"the trace of either order {orders}")
    roots = traced()
    assert [r["event_type"] for r in roots] == ["OrderPlaced"] and roots[0]["matched"]
    order = roots[0]
    assert order["aggregate_id"] == traced_order
    # The order's own children (deeper: e.g. a low-stock alert's notification).
    children: dict[str, list[dict]] = {}
    for child in order["children"]:
        assert child["causation_id"] == order["event_id"], child
        children.setdefault(child["event_type"], []).append(child)
    assert wanted - {"OrderPlaced"} <= set(children), sorted(children)
    assert len(children["InventoryLevel"]) == 1  # one SKU in the order
    (note,) = children["NotificationRequested"]
    assert [e["outcome"] for e in note["effects"] if e["group"] == "worker-notifications"] == [
        "done"]
    assert all(key in order for key in ("topic", "partition", "offset", "time", "event_id"))

    text = pipeline_cli(stack, "trace", traced_order)
    assert text.returncode == 0, text.stderr
    assert "OrderPlaced" in text.stdout and "worker-notifications: done" in text.stdout

    unknown = pipeline_cli(stack, "trace", f"no-such-{tag}")
    assert unknown.returncode == 1
    assert "no event id, aggregate id or correlation id" in unknown.stderr


def test_status_and_metrics_pages(pipeline):
    assert pipeline["components"]["lineage"]["pid"]
    lineage = httpx.get(pipeline["lineage"]["metrics_url"], timeout=5).text
    assert "pipeline_lineage_events_indexed_total" in lineage
    assert 'pipeline_worker_ready{group="lineage",worker="lineage"} 1.0' in lineage
    for app in pipeline["streams"]["apps"].values():
        page = httpx.get(f"{app['url']}/metrics", timeout=5)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
        assert f'pipeline_stream_events_total{{app="{app["app_id"]}"}}' in page.text
