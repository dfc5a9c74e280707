"""Background tasks end to end: `.delay()` through the outbox, the relay, the broker and the
`tasks` worker (real processes), results read back, chains, groups and chords."""

from __future__ import annotations

import json
import uuid

import pytest
from taskproject import TaskProject

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(settings, tmp_path_factory):
    demo = TaskProject(tmp_path_factory.mktemp("tasks-core"), settings, uuid.uuid4().hex[:8])
    demo.prepare()
    demo.start_relay()
    demo.start_worker()
    try:
        yield demo
    finally:
        demo.stop_all()


def _printed(output: str) -> dict:
    """The JSON object the shell code printed last."""
    return json.loads(output.strip().splitlines()[-1])


def test_rolled_back_delay_runs_nothing_committed_runs_once(project):
    seen = _printed(project.shell('''
        import json
        from django.db import transaction
        from demo.tasks import step
        try:
            with transaction.atomic():
                rolled = step.delay(0, "rolled-back")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        with transaction.atomic():
            kept = step.delay(41, "committed")
        print(json.dumps({"rolled": rolled.id, "kept": kept.id, "value": kept.get(timeout=120),
                          "status": kept.status}))
    '''))
    assert seen["value"] == 42 and seen["status"] == "SUCCESS"
    assert project.result(seen["rolled"]) is None
    ids = [p["task_id"] for p in project.outbox_payloads()]
    assert seen["kept"] in ids and seen["rolled"] not in ids
    assert project.query("SELECT key, value FROM demo_effect WHERE key IN "
                         "('committed', 'rolled-back')") == [("committed", 42)]


def test_chain_group_and_chord_give_celery_results(project):
    seen = _printed(project.shell('''
        import json
        from producer_django.tasks import AsyncResult, chain, chord, group
        from demo.tasks import add, mul, tsum
        c = chain(add.s(1, 2), mul.s(10)).delay()
        g = group(add.s(i, i) for i in range(10)).delay()
        d = chord([add.s(i, i) for i in range(5)], tsum.s()).delay()
        p = (add.s(2, 2) | mul.s(3)).delay()
        print(json.dumps({"chain": c.get(timeout=120), "parent": c.parent.get(timeout=10),
                          "group": g.get(timeout=120), "chord": d.get(timeout=120),
                          "pipe": p.get(timeout=120), "status": AsyncResult(d.id).status}))
    '''))
    assert seen == {"chain": 30, "parent": 3, "group": [0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
                    "chord": 20, "pipe": 12, "status": "SUCCESS"}


def test_arguments_that_are_not_json_fail_at_delay_time(project):
    out = project.shell('''
        from demo.tasks import add
        try:
            add.delay(object(), 1)
        except TypeError as exc:
            print(type(exc).__name__, exc)
    ''')
    assert out.startswith("TaskArgumentsError the arguments of demo.tasks.add are not") or \
        "is not JSON-serialisable" in out, out


def test_countdown_is_not_run_before_its_time(project):
    seen = _printed(project.shell('''
        import json, time
        from demo.tasks import add
        started = time.time()
        r = add.apply_async(args=(1, 1), countdown=3)
        value = r.get(timeout=120)
        print(json.dumps({"value": value, "waited": time.time() - started}))
    '''))
    assert seen["value"] == 2 and seen["waited"] >= 3.0


def test_a_failing_task_is_failure_with_its_traceback(project):
    seen = _printed(project.shell('''
        import json
        from producer_django.tasks import TaskFailed
        from demo.tasks import always_fails
        r = always_fails.delay()
        try:
            r.get(timeout=120)
        except TaskFailed as exc:
            print(json.dumps({"status": r.status, "error": str(exc), "tb": exc.traceback}))
    '''))
    assert seen["status"] == "FAILURE"
    assert "ValueError: this task always fails" in seen["error"]
    assert "Traceback" in seen["tb"] and "always_fails" in seen["tb"]
