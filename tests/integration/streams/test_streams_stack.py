"""`pipeline up` runs the stream apps as components; `pipeline status` reports them."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

STREAM_COMPONENTS = ("streams-fanout", "streams-inventory")


@pytest.fixture
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


def test_a_killed_stream_worker_is_restarted_by_up(stream_components):
    stack = stream_components
    old = stack.pid("streams-inventory")
    stack.kill("streams-inventory")
    assert stack.up(only={"streams-inventory"})["streams-inventory"] == "started"
    assert stack.pid("streams-inventory") != old
    assert stack.status()["components"]["streams-inventory"]["healthy"]
