"""`pipeline up` runs the stream apps as components; `pipeline status` reports them."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_status_reports_the_stream_workers_and_their_web_server(stack, settings):
    report = stack.status()
    for name in ("streams-fanout", "streams-inventory"):
        assert report["components"][name]["healthy"], name
        assert report["components"][name]["pid"]
    url = report["streams"]["url"]
    assert httpx.get(f"{url}/health", timeout=10).json()["app_id"] == "streams-inventory"
    response = httpx.get(f"{url}/inventory/no-such-sku", timeout=10)
    assert response.status_code == 404 and "unknown SKU" in response.json()["error"]
    fanout_url = report["streams"]["apps"]["fanout"]["url"]
    assert httpx.get(f"{fanout_url}/health", timeout=10).json()["app_id"] == "streams-fanout"
