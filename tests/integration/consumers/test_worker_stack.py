"""The workers and the SMTP server as `pipeline up` runs them (the session's stack)."""

from __future__ import annotations

import email
import mailbox
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from consumers.db import Database
from consumers.shop.search import search
from consumers.shop.testing import cache_invalidated, notification, search_upsert
from consumers.testing import message_ids, publish, wait_until
from schemas.config import LocalPaths, database_url
from schemas.serde import EventSerializer

# The shop's Django cache as the web app sees it: the shop's settings on the stack's database.
_CACHE_SCRIPT = """
import sys
import django
django.setup()
from django.conf import settings
from django.core.cache import cache
from consumers.shop.cache import create_cache_table
create_cache_table(settings.CACHES["default"]["LOCATION"])
if sys.argv[1] == "set":
    cache.set(sys.argv[2], {"cached": True}, 3600)
print("present" if cache.get(sys.argv[2]) is not None else "absent")
"""


COMPONENTS = ("smtp", "worker-notifications", "worker-search", "worker-cache")


@pytest.fixture(scope="module")
def workers_up(stack, settings):
    """The consumers' components started the way `pipeline up` starts them."""
    stack.up(only=set(COMPONENTS))
    yield stack
    for name in reversed(COMPONENTS):
        stack.stop(name)


def _shop_db(stack) -> str:
    return database_url(stack.settings, LocalPaths(home=str(stack.home), cache=""))


def _cache(stack, action: str, key: str) -> str:
    env = {**os.environ, "DATABASE_URL": _shop_db(stack),
           "DJANGO_SETTINGS_MODULE": "producer_django.shop.settings"}
    out = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT, action, key], env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout.strip()


def test_status_names_the_maildir_and_the_worker_components(workers_up):
    report = workers_up.status()
    assert report["smtp"]["maildir"].endswith("Maildir")
    for name in COMPONENTS:
        assert report["components"][name]["healthy"], name
        assert report["components"][name]["pid"]


def test_stack_workers_send_mail_index_documents_and_drop_cache_entries(
    workers_up, settings, registry_client
):
    stack = workers_up
    serializer = EventSerializer(registry_client)
    tag = uuid.uuid4().hex[:8]
    welcome = notification(1, "welcome", name=f"Ann {tag}")
    confirmation = notification(1, "order_confirmation", name=f"Ann {tag}",
                                order_id=f"order-{tag}", total_cents="4250")
    publish(settings, serializer, "shop.notifications", "NotificationRequested",
            [welcome, confirmation], key_field="user_id")
    publish(settings, serializer, "shop.search", "SearchDocumentUpserted",
            [search_upsert(f"product:{tag}", f"Kettle{tag} deluxe", "whistling")],
            key_field="document_id")
    key = f"product:{tag}"
    assert _cache(stack, "set", key) == "present"
    publish(settings, serializer, "shop.cache", "CacheInvalidated", [cache_invalidated([key])])

    maildir = stack.status()["smtp"]["maildir"]
    wanted = {f"<{e['event_id']}@event-pipeline.local>" for e in (welcome, confirmation)}
    wait_until(lambda: wanted <= set(message_ids(maildir)), 60, what="both mails in the Maildir")
    assert all(message_ids(maildir)[mid] == 1 for mid in wanted)
    bodies = {}
    for msg in mailbox.Maildir(maildir, factory=None):
        if msg["Message-ID"] in wanted:
            parsed = email.message_from_bytes(bytes(msg))
            bodies[parsed["Subject"]] = parsed.get_payload(decode=True).decode()
    assert f"Your order order-{tag} is confirmed" in bodies
    assert "Total: 42.50" in bodies[f"Your order order-{tag} is confirmed"]
    assert f"Hello Ann {tag}" in bodies[f"Welcome to the shop, Ann {tag}"]

    db = Database(_shop_db(stack))
    wait_until(lambda: search(db, f"kettle{tag}") != [], 60, what="the document in the index")
    assert search(db, f"kettle{tag}")[0]["document_id"] == f"product:{tag}"
    wait_until(lambda: _cache(stack, "get", key) == "absent", 60, what="the cache entry gone")

    port = stack.status()["workers"]["notifications"]["metrics_url"]
    metrics = httpx.get(port, timeout=5).text
    assert 'pipeline_worker_records_total{group="worker-notifications",outcome="handled"' in (
        metrics)
    assert "pipeline_worker_consumer_lag" in metrics or "pipeline_worker_ready" in metrics
