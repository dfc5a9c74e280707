"""API round trips: each endpoint's event lands on its topic, keyed, decoded, with headers."""

from __future__ import annotations

import uuid
from datetime import datetime

from producer_django.testing import query, read_topic


def _expect(n):
    return lambda events: len(events) >= n


def test_every_endpoint_publishes_its_event(shop, settings, registry_client, prefix):
    corr = str(uuid.uuid4())
    sku = f"{prefix}-sku"
    r = shop.post("/api/products/", {"sku": sku, "name": "Kettle", "price_cents": 1500,
                                     "stock": 5}, corr)
    assert r.status_code == 201, r.text
    assert r.json() == {"sku": sku, "name": "Kettle", "price_cents": 1500, "stock": 5}
    r = shop.post("/api/users/", {"email": f"{prefix}@example.com", "name": "Ada"}, corr)
    assert r.status_code == 201, r.text
    user_id = r.json()["user_id"]
    assert shop.http.patch(f"/api/products/{sku}/", json={"price_cents": 1400},
                           headers={"X-Correlation-ID": corr}).status_code == 200
    orders = []
    for _ in range(2):
        r = shop.post("/api/orders/", {"user_id": user_id, "lines": [{"sku": sku, "quantity": 2}]},
                      corr)
        assert r.status_code == 201, r.text
        assert r.json()["total_cents"] == 2800
        orders.append(r.json()["order_id"])
    assert shop.post(f"/api/orders/{orders[0]}/ship/",
                     {"carrier": "DHL", "tracking_number": "T-1"}, corr).status_code == 200
    assert shop.post(f"/api/orders/{orders[1]}/cancel/", {"reason": "changed mind"},
                     corr).status_code == 200
    r = shop.post(f"/api/inventory/{sku}/adjust/", {"delta": -1, "reason": "breakage"}, corr)
    assert r.status_code == 200 and r.json() == {"sku": sku, "on_hand": 2}
    assert shop.http.get(f"/api/products/{sku}/").json()["stock"] == 2

    mine = lambda key, headers: headers.get("correlation_id") == corr  # noqa: E731
    products = read_topic(settings, registry_client, "shop.products", mine, until=_expect(2))
    users = read_topic(settings, registry_client, "shop.users", mine, until=_expect(1))
    order_events = read_topic(settings, registry_client, "shop.orders", mine, until=_expect(4))
    stock = read_topic(settings, registry_client, "shop.inventory", mine, until=_expect(1))

    assert [(e.headers["event_type"], e.key) for e in products] == [
        ("ProductCreated", sku), ("ProductPriceChanged", sku)]
    assert products[1].value["old_price_cents"] == 1500
    assert products[1].value["new_price_cents"] == 1400
    assert [(e.headers["event_type"], e.key) for e in users] == [("UserRegistered", user_id)]
    assert users[0].value["email"] == f"{prefix}@example.com"
    by_order = {}
    for e in order_events:
        by_order.setdefault(e.key, []).append(e.headers["event_type"])
    assert by_order == {orders[0]: ["OrderPlaced", "OrderShipped"],
                        orders[1]: ["OrderPlaced", "OrderCancelled"]}
    placed = next(e for e in order_events if e.headers["event_type"] == "OrderPlaced")
    assert placed.value["lines"] == [{"sku": sku, "quantity": 2, "unit_price_cents": 1400}]
    assert placed.value["user_id"] == user_id
    assert [(e.headers["event_type"], e.key, e.value["delta"]) for e in stock] == [
        ("StockAdjusted", sku, -1)]

    for event in products + users + order_events + stock:
        value, headers = event.value, event.headers
        assert uuid.UUID(value["event_id"]) and headers["event_id"] == value["event_id"]
        assert isinstance(value["occurred_at"], datetime) and value["occurred_at"].tzinfo
        assert value["aggregate_id"] == event.key
        assert value["correlation_id"] == corr and value["causation_id"] is None
        assert value["producer"] == "shop"
        assert headers["traceparent"].startswith(f"00-{uuid.UUID(corr).hex}-")
    versions = {e.headers["event_type"]: e.value["aggregate_version"] for e in products}
    assert versions == {"ProductCreated": 1, "ProductPriceChanged": 2}
    assert [e.value["aggregate_version"] for e in order_events if e.key == orders[0]] == [1, 2]


def test_bad_requests_write_no_outbox_row(shop, prefix):
    sku = f"{prefix}-sku"
    assert shop.post("/api/products/", {"sku": sku, "name": "Mug", "price_cents": 500,
                                        "stock": 1}).status_code == 201
    user = shop.post("/api/users/", {"email": f"{prefix}@example.com", "name": "B"}).json()
    order = shop.post("/api/orders/", {"user_id": user["user_id"],
                                       "lines": [{"sku": sku, "quantity": 1}]}).json()
    assert shop.post(f"/api/orders/{order['order_id']}/cancel/", {}).status_code == 200
    before = shop.outbox_rows()

    bad = [
        ("/api/products/", {"sku": sku + "x", "name": "Mug", "price_cents": -1, "stock": 1},
         400, "price_cents"),
        ("/api/users/", {"email": "not-an-email", "name": "B"}, 400, "email"),
        ("/api/orders/", {"user_id": user["user_id"], "lines": []}, 400, "lines"),
        ("/api/orders/", {"user_id": user["user_id"], "lines": [{"sku": "nope", "quantity": 1}]},
         400, "lines"),
        ("/api/orders/", {"user_id": str(uuid.uuid4()), "lines": [{"sku": sku, "quantity": 1}]},
         400, "user_id"),
        (f"/api/inventory/{sku}/adjust/", {"delta": "many"}, 400, "delta"),
        ("/api/orders/", {"user_id": user["user_id"], "lines": [{"sku": sku, "quantity": 2}]},
         409, "not enough stock"),
        (f"/api/inventory/{sku}/adjust/", {"delta": -5, "reason": "x"}, 409, "not enough stock"),
        (f"/api/orders/{order['order_id']}/ship/", {"carrier": "DHL", "tracking_number": "1"},
         409, "cancelled"),
        (f"/api/orders/{order['order_id']}/cancel/", {}, 409, "cancelled"),
        (f"/api/orders/{uuid.uuid4()}/ship/", {"carrier": "DHL", "tracking_number": "1"},
         404, "no order"),
        (f"/api/inventory/{prefix}-unknown/adjust/", {"delta": 1, "reason": "x"}, 404,
         "no product"),
        ("/api/products/", {"sku": sku, "name": "Mug", "price_cents": 5, "stock": 1}, 409,
         "already exists"),
    ]
    for path, body, status, needle in bad:
        r = shop.post(path, body)
        assert r.status_code == status, (path, body, r.text)
        assert needle in r.text, (path, r.text)
    anonymous = shop.http.post("/api/users/", json={"email": "x@example.com", "name": "x"},
                               headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert shop.http.get(f"/api/products/{prefix}-unknown/").status_code == 404
    assert shop.outbox_rows() == before


def test_get_responses_are_cached_under_the_contract_keys(shop, prefix):
    sku = f"{prefix}-sku"
    shop.post("/api/products/", {"sku": sku, "name": "Pot", "price_cents": 900, "stock": 3})
    assert shop.http.get(f"/api/products/{sku}/").json()["stock"] == 3
    keys = query(shop.db_url, "SELECT cache_key FROM shop_cache WHERE cache_key LIKE %s",
                 (f"%product:{sku}",))
    assert [k for (k,) in keys] == [f"shop:1:product:{sku}"]
    # A write through the API drops the entry, so the next read is fresh.
    shop.post(f"/api/inventory/{sku}/adjust/", {"delta": 2, "reason": "restock"})
    assert shop.http.get(f"/api/products/{sku}/").json()["stock"] == 5


def test_search_reads_the_contract_table(shop, prefix):
    # The search-indexer worker owns this table; the DDL is the one in docs/CONTRACTS.md.
    query(shop.db_url, "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING "
                       "fts5(document_id UNINDEXED, kind UNINDEXED, title, body)")
    query(shop.db_url, "INSERT INTO search_index VALUES (%s, 'product', %s, 'a fine teapot')",
          (f"product:{prefix}", f"Teapot {prefix}"))
    found = shop.http.get("/api/search/", params={"q": f"{prefix} teapot"}).json()
    assert found == {"results": [{"document_id": f"product:{prefix}", "kind": "product",
                                  "title": f"Teapot {prefix}"}]}
    assert shop.http.get("/api/search/", params={"q": 'AND OR "('}).json() == {"results": []}


def test_health_and_status_report_the_server_and_dev_token(shop, stack):
    report = stack.status()
    assert report["django"]["url"] == shop.url
    assert report["django"]["api_token"] == shop.token
    assert report["components"]["django"]["healthy"]
    assert report["components"]["relay"]["healthy"]
    health = shop.http.get("/health/", headers={"Authorization": ""})
    assert health.status_code == 200
    assert set(health.json()["outbox"]) == {"backlog", "oldest_pending_age_s", "failing",
                                            "last_error"}


def test_an_email_in_another_case_is_the_same_account(shop, prefix):
    first = shop.post("/api/users/", {"email": f"{prefix}@Example.com", "name": "Ada"})
    assert first.status_code == 201, first.text
    assert first.json()["email"] == f"{prefix}@example.com"
    before = shop.outbox_rows()
    again = shop.post("/api/users/", {"email": f"{prefix.upper()}@EXAMPLE.COM", "name": "Ada"})
    assert again.status_code == 409, again.text
    assert "email" in again.json()["detail"]
    assert shop.outbox_rows() == before


def test_stock_adjustments_respect_the_cap_product_creation_enforces(shop, prefix):
    cap = 2**31 - 1
    sku = f"{prefix}-full"
    over = shop.post("/api/products/", {"sku": sku, "name": "Jar", "price_cents": 1,
                                        "stock": cap + 1})
    assert over.status_code == 400 and "stock" in over.json()
    assert shop.post("/api/products/", {"sku": sku, "name": "Jar", "price_cents": 1,
                                        "stock": cap - 1}).status_code == 201
    user = shop.post("/api/users/", {"email": f"{prefix}@example.com", "name": "D"}).json()
    order = shop.post("/api/orders/", {"user_id": user["user_id"],
                                       "lines": [{"sku": sku, "quantity": 2}]}).json()
    assert shop.post(f"/api/inventory/{sku}/adjust/", {"delta": 3, "reason": "x"}).json() == {
        "sku": sku, "on_hand": cap}
    before = shop.outbox_rows()
    for delta in (1, cap):
        r = shop.post(f"/api/inventory/{sku}/adjust/", {"delta": delta, "reason": "restock"})
        assert r.status_code == 409, r.text
        assert f"maximum of {cap}" in r.json()["detail"]
    r = shop.post(f"/api/inventory/{sku}/adjust/", {"delta": cap + 1, "reason": "restock"})
    assert r.status_code == 400 and "delta" in r.json()
    # Giving an order's stock back may not pass the cap either.
    r = shop.post(f"/api/orders/{order['order_id']}/cancel/", {})
    assert r.status_code == 409 and f"maximum of {cap}" in r.json()["detail"]
    assert shop.outbox_rows() == before
    assert shop.http.get(f"/api/products/{sku}/").json()["stock"] == cap


def test_an_order_total_past_the_long_range_is_a_field_error(shop, prefix):
    sku = f"{prefix}-gold"
    assert shop.post("/api/products/", {"sku": sku, "name": "Gold", "price_cents": 2**62,
                                        "stock": 5}).status_code == 201
    user = shop.post("/api/users/", {"email": f"{prefix}@example.com", "name": "E"}).json()
    before = shop.outbox_rows()
    r = shop.post("/api/orders/", {"user_id": user["user_id"],
                                   "lines": [{"sku": sku, "quantity": 2}]})
    assert r.status_code == 400 and "lines" in r.json(), r.text
    assert shop.outbox_rows() == before
    assert shop.http.get(f"/api/products/{sku}/").json()["stock"] == 5


def test_every_api_404_is_json(shop, prefix):
    before = shop.outbox_rows()
    calls = [
        ("GET", "/api/orders/not-a-uuid/", None, "no order 'not-a-uuid'"),
        ("POST", "/api/orders/not-a-uuid/ship/", {"carrier": "DHL", "tracking_number": "1"},
         "no order"),
        ("POST", "/api/orders/12345/cancel/", {}, "no order"),
        ("GET", f"/api/orders/{uuid.uuid4()}/", None, "no order"),
        ("GET", "/api/products/not a sku!/", None, "no product"),
        ("POST", "/api/inventory/not%20a%20sku/adjust/", {"delta": 1, "reason": "x"}, "no product"),
        ("GET", "/api/no-such-endpoint/", None, "no API endpoint"),
        ("POST", "/api/products/a/b/", {}, "no API endpoint"),
    ]
    for method, path, body, needle in calls:
        r = shop.http.request(method, path, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.headers["content-type"] == "application/json", (path, r.headers)
        assert needle in r.json()["detail"], (path, r.text)
    assert shop.outbox_rows() == before


def test_the_openapi_schema_describes_every_endpoint_and_its_errors(shop):
    r = shop.http.get("/api/schema/", headers={"Authorization": ""})
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.oai.openapi+json")
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    ops = {(m.upper(), p): op for p, item in schema["paths"].items() for m, op in item.items()}
    writes = {
        ("POST", "/api/users/"): {"201", "400", "401", "409"},
        ("POST", "/api/products/"): {"201", "400", "401", "409"},
        ("PATCH", "/api/products/{sku}/"): {"200", "400", "401", "404"},
        ("POST", "/api/orders/"): {"201", "400", "401", "409"},
        ("POST", "/api/orders/{order_id}/ship/"): {"200", "400", "401", "404", "409"},
        ("POST", "/api/orders/{order_id}/cancel/"): {"200", "400", "401", "404", "409"},
        ("POST", "/api/inventory/{sku}/adjust/"): {"200", "400", "401", "404", "409"},
    }
    reads = {
        ("GET", "/api/products/{sku}/"): {"200", "401", "404"},
        ("GET", "/api/orders/{order_id}/"): {"200", "401", "404"},
        ("GET", "/api/search/"): {"200", "401"},
        ("GET", "/health/"): {"200", "503"},
    }
    assert set(ops) == set(writes) | set(reads)
    for key, codes in {**writes, **reads}.items():
        assert set(ops[key]["responses"]) == codes, key
        for code in codes:
            assert "application/json" in ops[key]["responses"][code]["content"], (key, code)
    for key in writes:
        body = ops[key]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert body.startswith("#/components/schemas/"), key
        field_errors = ops[key]["responses"]["400"]["content"]["application/json"]["schema"]
        named = set(field_errors["oneOf"][0]["properties"]) - {"non_field_errors"}
        request_fields = schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]
        assert named == set(request_fields), key
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    yaml_form = shop.http.get("/api/schema/", params={"format": "yaml"})
    assert yaml_form.status_code == 200 and yaml_form.text.startswith("openapi: 3.")
