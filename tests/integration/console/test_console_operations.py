"""The console's pages on real data: the message browser (decoded, masked, filtered,
exported), an offsets reset after its dry run and confirmation, the overview's samples."""

from __future__ import annotations

import json
import re

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from consumers.replay.offsets import committed_offsets
from consumers.shop.testing import notification
from consumers.testing import publish, wait_until
from schemas.serde import EventSerializer


def test_the_message_browser_decodes_masks_filters_and_exports(
    console, session_factory, settings, registry_client, make_topic
):
    topic = make_topic("console", partitions=2)
    events = [notification(n, "welcome" if n % 2 else "order_confirmation") for n in range(6)]
    publish(settings, EventSerializer(registry_client), topic, "NotificationRequested", events,
            key_field="user_id")
    operator = session_factory().login(console["username"], console["password"])

    page = operator.http.get(f"/topics/{topic}/", params={
        "browse": "1", "from": "beginning", "where": "template=welcome", "limit": "50"})
    assert page.status_code == 200
    assert page.text.count("NotificationRequested</td>") == 3
    assert "user1@example.test" not in page.text  # recipient is personal data: masked
    assert "***" in page.text

    one_partition = operator.http.get(f"/topics/{topic}/", params={
        "browse": "1", "partition": "1", "from": "0", "limit": "50"})
    shown = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td>",
                       one_partition.text.split('id="messages"', 1)[1])
    assert shown and {partition for partition, _offset in shown} == {"1"}

    export = operator.http.get(f"/topics/{topic}/export",
                               params={"format": "jsonl", "where": "template=welcome"})
    assert export.status_code == 200
    rows = [json.loads(line) for line in export.text.splitlines()]
    assert len(rows) == 3
    assert {r["value"]["template"] for r in rows} == {"welcome"}
    assert {r["value"]["recipient"] for r in rows} == {"***"}
    csv_export = operator.http.get(f"/topics/{topic}/export", params={"format": "csv"})
    assert csv_export.status_code == 200
    assert len(csv_export.text.strip().splitlines()) == 1 + len(events)

    bad = operator.http.get(f"/topics/{topic}/", params={"browse": "1", "where": "nosuch=1"})
    assert "nosuch" in bad.text and 'class="problem"' in bad.text


def test_an_offsets_reset_shows_its_plan_and_runs_only_after_confirmation(
    console, session_factory, settings, make_topic, unique
):
    topic = make_topic("console-reset", partitions=2)
    group = f"console-reset-{unique}"
    consumer = Consumer(settings.kafka_conf(**{"group.id": group}))
    consumer.commit(offsets=[TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0)],
                    asynchronous=False)
    consumer.close()
    from consumers.testing import produce_raw

    produce_raw(settings, topic, [(f"k{i}".encode(), b"v") for i in range(8)])
    admin = AdminClient(settings.kafka_conf())
    operator = session_factory().login(console["username"], console["password"])

    plan = operator.http.get(f"/groups/{group}/reset", params={"to": "end", "topics": topic})
    assert plan.status_code == 200
    assert 'id="plan"' in plan.text and 'id="execute"' in plan.text
    assert committed_offsets(admin, settings, group) == {(topic, 0): 0, (topic, 1): 0}

    unconfirmed = operator.post_form(f"/groups/{group}/reset/execute",
                                     {"to": "end", "topics": topic})
    assert unconfirmed.status_code == 302
    assert committed_offsets(admin, settings, group) == {(topic, 0): 0, (topic, 1): 0}

    done = operator.post_form(f"/groups/{group}/reset/execute",
                              {"to": "end", "topics": topic, "confirm": "yes"})
    assert done.status_code == 302 and done.headers["location"] == f"/groups/{group}/"
    after = committed_offsets(admin, settings, group)
    assert sum(after.values()) == 8

    audit = operator.http.get("/audit/").text
    assert "offsets-reset" in audit and group in audit
    assert console["username"] in audit.split('id="audit"', 1)[1]


def test_the_overview_samples_lag_and_components_and_refreshes_itself(
    console, session_factory
):
    operator = session_factory().login(console["username"], console["password"])
    page = operator.http.get("/")
    assert 'data-poll="/overview/live"' in page.text
    assert 'id="component-console"' in page.text
    api = operator.http.get("/api/overview").json()
    assert "worker-notifications" in api["groups"]
    assert "worker-notifications" in api["dead_letters"]
    first = api["at_ms"]
    wait_until(lambda: operator.http.get("/api/overview").json()["at_ms"] > first, 60,
               what="a second sampling pass")
    live = operator.http.get("/overview/live")
    assert "<svg" in live.text and "events/s per topic" in live.text
