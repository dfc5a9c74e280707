"""`pipeline up` runs the stream apps as components; `pipeline status` reports them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from schemas import registry
from schemas.serde import EventSerializer
from streams.shop.testing import Workload
from streams.testing import publish, wait_until

pytestmark = pytest.mark.integration

STREAM_COMPONENTS = ("streams-fanout", "streams-inventory")


@pytest.fixture(scope="module")
def stream_components(stack, settings):
    """Start the session stack's stream workers the way `pipeline up` does; stop them after."""
    started = []
    for name in STREAM_COMPONENTS:
        if not stack.status()["components"][name]["healthy"]:
            stack.start(name)
            started.append(name)
    yield stack
    for name in started:
        stack.stop(name)


def test_status_reports_the_stream_workers_and_their_web_server(stream_components):
    report = stream_components.status()
    for name in STREAM_COMPONENTS:
        assert report["components"][name]["healthy"], name
        assert report["components"][name]["pid"]
    url = report["streams"]["url"]
    assert httpx.get(f"{url}/health", timeout=10).json()["app_id"] == "streams-inventory"
    response = httpx.get(f"{url}/inventory/no-such-sku", timeout=10)
    assert response.status_code == 404 and "unknown SKU" in response.json()["error"]
    fanout_url = report["streams"]["apps"]["fanout"]["url"]
    assert httpx.get(f"{fanout_url}/health", timeout=10).json()["app_id"] == "streams-fanout"


def test_pipeline_streams_inventory_queries_the_owner(stream_components, settings, unique):
    stack = stream_components
    w = Workload(seed=1, prefix=f"cli{unique}-")
    sku = w.product(1, stock=7)
    publish(settings, EventSerializer(registry.connect(settings)), w.take())
    env = {**os.environ, "PIPELINE_HOME": str(stack.home)}

    def query(target):
        return subprocess.run([sys.executable, "-m", "deploy.cli", "streams", "inventory", target],
                              capture_output=True, text=True, env=env, timeout=60)

    done = wait_until(lambda: (r := query(sku)).returncode == 0 and r, 90,
                      "the stack's inventory worker to answer for the new SKU")
    assert json.loads(done.stdout)["on_hand"] == 7
    missing = query(f"cli{unique}-nope")
    assert missing.returncode == 1 and "unknown SKU" in missing.stderr


def test_a_killed_stream_worker_is_restarted_by_up(stream_components):
    stack = stream_components
    old = stack.pid("streams-inventory")
    stack.kill("streams-inventory")
    assert stack.up(only={"streams-inventory"})["streams-inventory"] == "started"
    assert stack.pid("streams-inventory") != old
    assert stack.status()["components"]["streams-inventory"]["healthy"]
