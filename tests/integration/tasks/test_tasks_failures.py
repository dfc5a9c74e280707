"""Retries with the task's delays, and requests that can never run: each a clear error, the
request in the worker's dead-letter topic, and the worker goes on with the next one."""

from __future__ import annotations

import json
import uuid

import pytest
from confluent_kafka import Consumer
from taskproject import TaskProject

from consumers.testing import wait_until
from schemas import project as projects
from schemas.serde import EventSerializer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(settings, tmp_path_factory):
    demo = TaskProject(tmp_path_factory.mktemp("tasks-failures"), settings, uuid.uuid4().hex[:8],
                       broken_module=True)
    demo.prepare()
    demo.start_relay()
    demo.start_worker()
    try:
        yield demo
    finally:
        demo.stop_all()


def test_failing_twice_then_succeeding_waits_the_configured_delays(project, tmp_path):
    attempts = tmp_path / "attempts.txt"
    out = project.shell(f'''
        from demo.tasks import flaky
        r = flaky.delay({str(attempts)!r})
        print(r.get(timeout=180), r.status)
    ''')
    assert out.split()[-2:] == ["3", "SUCCESS"]
    times = [float(t) for t in attempts.read_text().split()]
    assert len(times) == 3
    # retry_delays=(1, 2): at least 1 s before the second attempt, 2 s before the third.
    assert times[1] - times[0] >= 1.0 and times[2] - times[1] >= 2.0, times


def _request(task: str, task_id: str, args: str = "[]") -> dict:
    return {"event_id": task_id, "occurred_at": 0, "aggregate_id": task_id,
            "aggregate_version": 1, "correlation_id": task_id, "causation_id": None,
            "producer": "tests", "task_id": task_id, "root_id": task_id, "task": task,
            "args": args, "kwargs": "{}", "queue": "", "attempt": 1, "eta_ms": None,
            "workflow": None}


def test_bad_requests_go_to_the_dead_letters_and_nothing_else_stops(project, settings,
                                                                    registry_client):
    from consumers.testing import publish

    bad = {
        "unknown": _request("demo.tasks.no_such_task", str(uuid.uuid4())),
        "not-json": _request("demo.tasks.add", str(uuid.uuid4()), args="[1, 2"),
        "broken-module": _request("demo.broken.anything", str(uuid.uuid4())),
    }
    for record in bad.values():
        record["queue"] = project.queue
    projects.use(project.declared())
    try:
        serializer = EventSerializer(registry_client)
        publish(settings, serializer, project.topic, "TaskRequested", list(bad.values()),
                key_field="root_id")
    finally:
        projects.use(None)
    # The worker goes on: a good task after the bad ones runs.
    out = project.shell("from demo.tasks import add\nprint(add.delay(20, 22).get(timeout=120))")
    assert out.split()[-1] == "42"

    letters = _dead_letters(settings, f"{project.group}.dlq", len(bad))
    assert set(letters) == {r["event_id"] for r in bad.values()}
    messages = {name: letters[r["event_id"]]["error.message"] for name, r in bad.items()}
    assert "no task named 'demo.tasks.no_such_task'" in messages["unknown"]
    assert "registered: " in messages["unknown"] and "dlq redrive" in messages["unknown"]
    assert "`args` is not JSON" in messages["not-json"]
    assert "its module demo.broken failed to import" in messages["broken-module"]
    assert "broken on purpose" in messages["broken-module"]
    assert all(h["dead_letter.reason"] == "permanent failure" for h in letters.values())
    # Each is FAILURE in the result table, with the same error.
    for record in bad.values():
        status, _result, trace, _attempts = project.result(record["task_id"])
        assert status == "FAILURE" and trace


def _dead_letters(settings, topic: str, count: int) -> dict[str, dict]:
    consumer = Consumer(settings.kafka_conf(**{"group.id": f"dlq-check-{uuid.uuid4().hex}",
                                               "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    found: dict[str, dict] = {}
    try:
        def enough() -> bool:
            msg = consumer.poll(0.5)
            if msg is not None and not msg.error():
                headers = {k: v.decode() for k, v in msg.headers() or []}
                found[headers["event_id"]] = headers
            return len(found) >= count
        wait_until(enough, 120, interval_s=0, what=f"{count} dead letters in {topic}")
    finally:
        consumer.close()
    return found


def test_a_failed_task_is_dead_lettered_once_not_retried(project, settings):
    out = project.shell('''
        import json
        from demo.tasks import always_fails
        r = always_fails.delay()
        try:
            r.get(timeout=120)
        except Exception as exc:
            print(json.dumps({"id": r.id, "status": r.status}))
    ''')
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["status"] == "FAILURE"
    log = project.log()
    assert "always_fails" in log and "dead-lettered" in log
