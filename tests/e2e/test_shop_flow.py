"""The whole pipeline, as `pipeline up` runs it: Django + relay -> Kafka -> streams -> workers.

A user registers and orders through the HTTP API; the Maildir receives exactly the welcome and
confirmation mails, the search endpoint finds the product, the product's cache entry is gone,
and after a mixed workload the Faust inventory table equals the Django database for every SKU.
"""

from __future__ import annotations

import email
import mailbox
import random
import sqlite3
import time
import uuid

import httpx
import pytest

from deploy.stack import INFRASTRUCTURE

WAIT_S = 120


def wait_for(predicate, what: str, timeout_s: float = WAIT_S):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"gave up after {timeout_s}s waiting for {what}")


@pytest.fixture(scope="module")
def pipeline(stack, settings):
    """Every component of the stack running; the application ones stopped afterwards."""
    apps = [c.name for c in stack.components() if c.name not in INFRASTRUCTURE]
    stack.up()
    report = stack.status()
    unhealthy = [n for n, c in report["components"].items() if not c["healthy"]]
    assert not unhealthy, f"unhealthy components: {unhealthy}"
    yield report
    for name in reversed(apps):
        stack.stop(name)


@pytest.fixture(scope="module")
def api(pipeline):
    client = httpx.Client(
        base_url=pipeline["django"]["url"],
        headers={"Authorization": f"Token {pipeline['django']['api_token']}"},
        timeout=30,
    )
    yield client
    client.close()


def mails_to(maildir: str, recipient: str) -> list[email.message.Message]:
    box = mailbox.Maildir(maildir, create=False)
    return [m for m in box if recipient in (m.get("To") or "")]


def cache_row_exists(db_url: str, key: str) -> bool:
    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT COUNT(*) FROM shop_cache WHERE cache_key LIKE ?", (f"%:{key}",)
        ).fetchone()
    return rows[0] > 0


def test_register_and_order_reach_mail_search_and_cache(pipeline, api, stack):
    tag = uuid.uuid4().hex[:8]
    recipient = f"ada-{tag}@example.com"
    sku = f"TEAPOT-{tag}"

    user = api.post("/api/users/", json={"email": recipient, "name": "Ada Lovelace"})
    assert user.status_code == 201, user.text
    product = api.post(
        "/api/products/",
        json={"sku": sku, "name": f"Teapot {tag}", "price_cents": 2500, "stock": 10},
    )
    assert product.status_code == 201, product.text
    # Reading the product fills its cache entry, which the order must invalidate.
    assert api.get(f"/api/products/{sku}/").json()["stock"] == 10
    db_url = _database_url(stack)
    if db_url.startswith("sqlite"):
        assert cache_row_exists(db_url, f"product:{sku}")

    order = api.post(
        "/api/orders/",
        json={"user_id": user.json()["user_id"], "lines": [{"sku": sku, "quantity": 3}]},
    )
    assert order.status_code == 201, order.text

    maildir = pipeline["smtp"]["maildir"]
    mails = wait_for(
        lambda: len(mails_to(maildir, recipient)) >= 2 and mails_to(maildir, recipient),
        "the welcome and confirmation mails",
    )
    time.sleep(3)  # anything extra would have arrived by now
    mails = mails_to(maildir, recipient)
    assert len(mails) == 2, [m["Subject"] for m in mails]
    bodies = " ".join(
        m.get_payload(decode=True).decode(errors="replace")
        if not m.is_multipart()
        else m.get_payload(0).get_payload(decode=True).decode(errors="replace")
        for m in mails
    )
    assert "Ada Lovelace" in bodies and order.json()["order_id"] in bodies
    assert len({m["Message-ID"] for m in mails}) == 2

    found = wait_for(
        lambda: [
            r
            for r in api.get("/api/search/", params={"q": tag}).json()["results"]
            if r["document_id"].endswith(sku)
        ],
        "the product in the search index",
    )
    assert found[0]["kind"] == "product"

    if db_url.startswith("sqlite"):
        wait_for(lambda: not cache_row_exists(db_url, f"product:{sku}"), "the cache entry to go")
    assert api.get(f"/api/products/{sku}/").json()["stock"] == 7


def test_inventory_table_equals_the_database_after_a_mixed_workload(pipeline, api):
    rng = random.Random(7)
    tag = uuid.uuid4().hex[:8]
    skus = [f"MIX-{tag}-{n}" for n in range(6)]
    for sku in skus:
        assert (
            api.post(
                "/api/products/",
                json={
                    "sku": sku,
                    "name": f"Item {sku}",
                    "price_cents": 100,
                    "stock": 20,
                },
            ).status_code
            == 201
        )
    user_id = api.post(
        "/api/users/",
        json={
            "email": f"mix-{tag}@example.com",
            "name": "Mix",
        },
    ).json()["user_id"]

    orders, conflicts = [], 0
    for _ in range(40):
        action = rng.random()
        if action < 0.5:
            lines = [{"sku": s, "quantity": rng.randint(1, 4)} for s in rng.sample(skus, 2)]
            placed = api.post("/api/orders/", json={"user_id": user_id, "lines": lines})
            if placed.status_code == 409:
                conflicts += 1
            else:
                assert placed.status_code == 201, placed.text
                orders.append(placed.json()["order_id"])
        elif action < 0.7 and orders:
            cancelled = api.post(f"/api/orders/{orders.pop(rng.randrange(len(orders)))}/cancel/")
            assert cancelled.status_code == 200, cancelled.text
        elif action < 0.8 and orders:
            shipped = api.post(
                f"/api/orders/{orders[0]}/ship/",
                json={"carrier": "DHL", "tracking_number": f"T{tag}"},
            )
            assert shipped.status_code in (200, 409), shipped.text
        else:
            adjusted = api.post(
                f"/api/inventory/{rng.choice(skus)}/adjust/",
                json={"delta": rng.randint(-3, 6), "reason": "count"},
            )
            assert adjusted.status_code in (200, 201, 409), adjusted.text

    expected = {s: api.get(f"/api/products/{s}/").json()["stock"] for s in skus}
    streams_url = pipeline["streams"]["url"]

    def table_matches():
        got = {}
        for sku in skus:
            answer = httpx.get(f"{streams_url}/inventory/{sku}", timeout=10)
            got[sku] = answer.json().get("on_hand") if answer.status_code == 200 else None
        return got == expected or None

    wait_for(table_matches, f"the inventory table to equal the database {expected}")


def _database_url(stack) -> str:
    from schemas.config import LocalPaths, database_url, paths_from_env

    return database_url(stack.settings, LocalPaths(str(stack.home), paths_from_env().cache))


def test_unknown_sku_is_a_clear_404(pipeline):
    answer = httpx.get(f"{pipeline['streams']['url']}/inventory/NO-SUCH-{uuid.uuid4().hex[:6]}")
    assert answer.status_code == 404 and "unknown SKU" in answer.json()["error"]


def test_the_readmes_shop_commands_run_on_the_running_shop(pipeline, api, stack, tmp_path):
    """The README's replay, offsets, rebuild and stream-query examples (its `shop-stack`
    blocks), exactly as written, on this stack with data in it."""
    import os

    from readme_commands import README, readme_commands, run

    commands = [c for c in readme_commands(README.read_text()) if c.shop_stack and not c.skip]
    assert commands, "no README block is marked shop-stack"
    # The examples name SKU-1: a product and an order of it.
    created = api.post("/api/products/", json={"sku": "SKU-1", "name": "Teapot",
                                               "price_cents": 2500, "stock": 10})
    assert created.status_code in (201, 409), created.text
    user = api.post("/api/users/", json={"email": f"readme-{uuid.uuid4().hex[:6]}@example.com",
                                         "name": "Readme"})
    assert user.status_code == 201, user.text
    order = api.post("/api/orders/", json={"user_id": user.json()["user_id"],
                                           "lines": [{"sku": "SKU-1", "quantity": 1}]})
    assert order.status_code == 201, order.text
    wait_for(lambda: httpx.get(f"{pipeline['streams']['url']}/inventory/SKU-1",
                               timeout=10).status_code == 200, "SKU-1 in the inventory table")
    env = {k: v for k, v in os.environ.items()
           if k not in ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "DATABASE_URL")}
    env.update(PIPELINE_HOME=str(stack.home), PIPELINE_PROJECT=str(README.parent))
    for command in commands:
        # An offsets reset is refused while the group has members: the README says so.
        stopped = command.argv[:2] == ("offsets", "reset") and "worker-search" in command.argv
        if stopped:
            stack.stop("worker-search")
            # Static membership: the member stays until its session times out.
            wait_for(lambda: not _members(stack, "worker-search"), "worker-search to leave")
        try:
            run(command, env, tmp_path)
        finally:
            if stopped:
                stack.up(only={"worker-search"})


def _members(stack, group: str) -> list:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(stack.settings.kafka_conf())
    described = admin.describe_consumer_groups([group])[group].result(timeout=30)
    return list(described.members)
