"""The lineage indexer on the session's broker and registry, with a SQLite database of its
own: catalog events become rows (once each), dead letters and retries become effects, and the
metrics page reports both of its consumer groups ready."""

from __future__ import annotations

import re
import threading

import httpx
import pytest

from consumers import routing
from consumers.lineage import query
from consumers.lineage.indexer import run_indexer
from consumers.message import Record
from consumers.shop.testing import notification
from consumers.testing import produce_raw, publish, wait_until
from deploy.runtime.ports import free_port
from schemas.serde import EventSerializer, event_headers

pytestmark = pytest.mark.integration

TOPIC = "shop.notifications"
GROUP = "worker-notifications"


@pytest.fixture
def indexer(settings, tmp_path, unique):
    """The indexer in a thread, in consumer groups of this test; yields (db url, metrics port)."""
    url = f"sqlite:///{tmp_path / 'lineage.sqlite3'}"
    port = free_port()
    stop, ready, errors = threading.Event(), threading.Event(), []

    def run():
        try:
            run_indexer(settings, database_url=url, metrics_port=port, stop_event=stop,
                        on_ready=ready.set, group=f"lineage-{unique}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(60) and not errors, errors
    yield url, port
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and not errors, errors


def test_indexer_records_events_once_and_dead_letters_as_effects(settings, registry_client,
                                                                 indexer, unique):
    url, port = indexer
    serializer = EventSerializer(registry_client)
    cause = notification(1, "welcome", name=f"Cause {unique}")
    caused = notification(2, "welcome", name=f"Effect {unique}",)
    caused.update(causation_id=cause["event_id"], correlation_id=cause["correlation_id"])
    # `caused` twice in the log: indexed once, with its first offset.
    publish(settings, serializer, TOPIC, "NotificationRequested", [cause, caused, caused],
            key_field="user_id")
    value = serializer.serialize("NotificationRequested", caused)
    origin = Record(TOPIC, value, b"user-2", headers_=event_headers("NotificationRequested",
                                                                       caused))
    retry = routing.next_hop(origin, GROUP, (1.0,), RuntimeError(f"smtp down {unique}"))
    retried = Record(retry.topic, value, headers_=retry.headers)
    dead = routing.next_hop(retried, GROUP, (1.0,), RuntimeError(f"still down {unique}"))
    assert retry.topic == f"{GROUP}.retry.1" and dead.topic == f"{GROUP}.dlq"
    produce_raw(settings, retry.topic, [(retry.key, value)], headers=retry.headers)
    produce_raw(settings, dead.topic, [(dead.key, value)], headers=dead.headers)

    def traced():
        try:
            roots = query.trace(url, cause["correlation_id"], groups=[GROUP])
        except query.UnknownTraceId:
            return None
        nodes = {n.event_id: n for r in roots for n in r.walk()}
        child = nodes.get(caused["event_id"])
        return roots if child is not None and len(child.effects) == 2 else None

    wait_until(traced, 60, what="both events and both effects in the lineage")
    roots = traced()
    assert [r.event_id for r in roots] == [cause["event_id"]]
    child = roots[0].children[0]
    assert child.event_id == caused["event_id"] and child.causation_id == cause["event_id"]
    assert [(e.group, e.outcome) for e in child.effects] == [(GROUP, "retried"),
                                                             (GROUP, "dead-lettered")]
    assert f"still down {unique}" in child.effects[1].detail
    rows = query.recent(url, 10)
    assert [n.event_id for n in rows].count(caused["event_id"]) == 1

    page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    group = f"lineage-{unique}"
    assert f'pipeline_worker_ready{{group="{group}",worker="{group}"}} 1.0' in page
    assert f'group="lineage-{unique}-effects"' in page
    assert "pipeline_lineage_events_indexed_total" in page
    # At least ours: earlier tests of the session may have dead-lettered into the same group.
    dead_lettered = re.search(
        r'pipeline_lineage_effects_indexed_total\{outcome="dead-lettered"\} ([0-9.]+)', page)
    assert dead_lettered and float(dead_lettered.group(1)) >= 1, page
