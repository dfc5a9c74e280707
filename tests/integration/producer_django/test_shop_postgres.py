"""The shop and the relay on a real PostgreSQL: API round trip, search, concurrent relays."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import uuid

import httpx
import pytest

from producer_django.shop.testing import ShopProcesses
from producer_django.stack import manage_argv
from producer_django.testing import (
    TemporaryPostgres,
    order_problems,
    query,
    read_topic,
    wait_until,
)


@pytest.fixture(scope="module")
def pg():
    with TemporaryPostgres() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def pg_shop(pg, settings, tmp_path_factory):
    url = pg.create_database("shop")
    shop = ShopProcesses(dataclasses.replace(settings, database_url=url),
                         tmp_path_factory.mktemp("pg-shop"))
    shop.setup()
    shop.start_server()
    yield shop
    shop.close()


def test_api_round_trip_on_postgres(pg_shop, settings, registry_client):
    prefix = "pg" + uuid.uuid4().hex[:8]
    http = httpx.Client(base_url=pg_shop.server.url, timeout=30,
                        headers={"Authorization": f"Token {pg_shop.server.api_token()}"})
    corr = str(uuid.uuid4())
    h = {"X-Correlation-ID": corr}
    sku = f"{prefix}-sku"
    assert http.post("/api/products/", json={"sku": sku, "name": "Lamp", "price_cents": 990,
                                             "stock": 1}, headers=h).status_code == 201
    user = http.post("/api/users/", json={"email": f"{prefix}@example.com", "name": "D"},
                     headers=h).json()
    order = {"user_id": user["user_id"], "lines": [{"sku": sku, "quantity": 1}]}
    assert http.post("/api/orders/", json=order, headers=h).status_code == 201
    before = query(pg_shop.db_url, "SELECT COUNT(*) FROM events_outbox")[0][0]
    assert http.post("/api/orders/", json=order, headers=h).status_code == 409
    assert query(pg_shop.db_url, "SELECT COUNT(*) FROM events_outbox")[0][0] == before
    assert http.get(f"/api/products/{sku}/").json()["stock"] == 0

    # Search: empty while the worker's table does not exist, then reads it (CONTRACTS.md DDL).
    assert http.get("/api/search/", params={"q": "lamp"}).json() == {"results": []}
    query(pg_shop.db_url, """
        CREATE TABLE IF NOT EXISTS search_index (
          document_id text primary key, kind text, title text, body text,
          tsv tsvector generated always as
            (to_tsvector('simple', coalesce(title,'') || ' ' || coalesce(body,''))) stored)""")
    query(pg_shop.db_url, "INSERT INTO search_index (document_id, kind, title, body) "
                          "VALUES (%s, 'product', 'Lamp', %s)", (f"product:{sku}", prefix))
    assert http.get("/api/search/", params={"q": f"lamp {prefix}"}).json()["results"] == [
        {"document_id": f"product:{sku}", "kind": "product", "title": "Lamp"}]

    relay = pg_shop.start_relay("relay-roundtrip")
    try:
        products = read_topic(settings, registry_client, "shop.products",
                              lambda k, hd: hd.get("correlation_id") == corr,
                              until=lambda ev: len(ev) >= 1)
        orders = read_topic(settings, registry_client, "shop.orders",
                            lambda k, hd: hd.get("correlation_id") == corr,
                            until=lambda ev: len(ev) >= 1)
    finally:
        pg_shop.stop(relay)
    assert [e.key for e in products] == [sku]
    assert orders[0].value["lines"] == [{"sku": sku, "quantity": 1, "unit_price_cents": 990}]
    http.close()


def test_concurrent_relays_skip_no_row_when_writers_commit_out_of_order(
    pg_shop, settings, registry_client
):
    prefix = "cr" + uuid.uuid4().hex[:8]
    pg_shop.workload("--prefix", prefix, "--skus", "20", "--events", "0", "--setup").wait(120)
    relays = [pg_shop.start_relay(f"relay-{n}") for n in range(3)]
    # Each writer holds its transaction open up to 30 ms after writing the outbox row, so
    # ids commit out of order while the relays are claiming.
    writers = [
        pg_shop.workload("--prefix", prefix, "--skus", "20", "--events", "300",
                         "--hold-ms", "30", "--seed", str(n), log_name=f"writer-{n}")
        for n in range(3)
    ]
    for w in writers:
        assert w.wait(240) == 0
    assert wait_until(lambda: pg_shop.pending() == 0, 120), "rows left pending"
    for pid in relays:
        pg_shop.stop(pid)

    committed = pg_shop.committed_ids("shop.inventory", prefix)
    stock_ids = set(committed)
    events = read_topic(
        settings, registry_client, "shop.inventory",
        lambda key, h: (key or "").startswith(prefix),
        until=lambda ev: stock_ids <= {e.event_id for e in ev}, timeout_s=120,
    )
    seen = {e.event_id for e in events}
    assert len(committed) == 900
    assert stock_ids - seen == set(), f"{len(stock_ids - seen)} committed events missing"
    assert order_problems(events) == []
    delivered_by = [
        re.findall(r"(\d+) delivered", (pg_shop.home / f"relay-{n}.log").read_text())
        for n in range(3)
    ]
    print(f"log duplicates: {len(events) - len(seen)}; relay logs: {delivered_by}")


# Run by `manage.py shell -c` against the PostgreSQL shop: an idle relay's store is woken by a
# commit that inserted outbox rows, not by one that rolled back, and a claim (which drops the
# notifications that arrived before it) works inside the batch's transaction.
_WAKE_UP = """
import threading
from django.db import transaction
from producer_django.events.publish import publish
from producer_django.events.relay.store import OutboxStore

store = OutboxStore("default", 100, 1.0, 2.0)
stop = threading.Event()

def write(commit):
    try:
        with transaction.atomic():
            publish("StockAdjusted", {"sku": "{sku}", "delta": 1, "reason": "wake"})
            if not commit:
                raise RuntimeError("roll back")
    except RuntimeError:
        pass

def in_thread(commit):
    thread = threading.Thread(target=write, args=(commit,))
    thread.start()
    thread.join()

print("idle", store.wait_for_rows(0.2, stop))
in_thread(commit=False)
print("rolled back", store.wait_for_rows(0.5, stop))
in_thread(commit=True)
print("committed", store.wait_for_rows(120, stop))
in_thread(commit=True)
print("woken", store.wait_for_rows(120, stop))
in_thread(commit=True)
with store.batch():
    print("claimed", len(store.claim()) >= 1)
"""


def test_an_idle_relay_wakes_when_outbox_rows_commit(pg_shop):
    script = _WAKE_UP.replace("{sku}", "wake-" + uuid.uuid4().hex[:8])
    done = subprocess.run(manage_argv("shell", "-c", script), env={**os.environ, **pg_shop.env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # The last lines: Django's shell may first print what it imported.
    assert done.stdout.splitlines()[-5:] == [
        "idle False", "rolled back False", "committed True", "woken True", "claimed True",
    ], done.stdout + done.stderr
