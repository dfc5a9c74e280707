"""kill -9 the tasks worker again and again while 2,000 workflows (chains and chords) run:
every workflow finishes with the right result, no step is lost, no database effect is doubled,
and each chord callback runs once.

The project is a throwaway one (tests/integration/tasks/taskproject.py) with its own queue;
the relay and the worker are real processes, the worker is killed 5 times while it works.
"""

from __future__ import annotations

import json
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "tasks"))

from taskproject import TaskProject  # noqa: E402

from consumers.testing import wait_until  # noqa: E402
from deploy.runtime import process  # noqa: E402

CHAINS = 1000
CHORDS = 1000
CHAIN_STEPS = 3
CHORD_MEMBERS = 3
KILLS = 5

ENQUEUE = '''
import json
from django.db import transaction
from producer_django.tasks import chain, chord
from demo.tasks import step, total

ids = {"chains": [], "chords": []}
for start in range(0, %(chains)d, 100):
    with transaction.atomic():
        for i in range(start, start + 100):
            steps = [step.s(0, f"w{i}:1")] + [step.s(f"w{i}:{n}") for n in range(2, %(steps)d + 1)]
            ids["chains"].append(chain(*steps).delay().id)
for start in range(0, %(chords)d, 100):
    with transaction.atomic():
        for j in range(start, start + 100):
            members = [step.s(k, f"c{j}:m{k}") for k in range(%(members)d)]
            ids["chords"].append(chord(members, total.s(f"c{j}:total")).delay().id)
print(json.dumps(ids))
'''


def test_kill9_during_chains_and_chords_loses_and_doubles_nothing(settings, tmp_path):
    demo = TaskProject(tmp_path / "project", settings, uuid.uuid4().hex[:8]).prepare()
    total_tasks = CHAINS * CHAIN_STEPS + CHORDS * (CHORD_MEMBERS + 1)

    def finished() -> int:
        return demo.query("SELECT count(*) FROM tasks_result WHERE status = 'SUCCESS'")[0][0]

    rng = random.Random(12)
    kills = 0
    try:
        demo.start_relay()
        worker = demo.start_worker()
        out = demo.shell(ENQUEUE % {"chains": CHAINS, "chords": CHORDS, "steps": CHAIN_STEPS,
                                    "members": CHORD_MEMBERS})
        ids = json.loads(out.strip().splitlines()[-1])
        for _ in range(KILLS):
            target = min(finished() + rng.randint(200, 800), total_tasks - 100)
            wait_until(lambda t=target: finished() >= t, 300, interval_s=0.02,
                       what=f"{target} finished tasks")
            process.kill9(worker)
            kills += 1
            worker = demo.start_worker()
        wait_until(lambda: finished() >= total_tasks, 600, interval_s=0.5,
                   what=f"all {total_tasks} tasks to finish")
        # Let any redelivery after the last kill settle before counting.
        time.sleep(3)
    finally:
        demo.stop_all()

    results = dict(demo.query("SELECT task_id, result FROM tasks_result WHERE status = 'SUCCESS'"))
    assert all(results.get(i) == str(CHAIN_STEPS) for i in ids["chains"]), "a chain went wrong"
    expected_total = sum(range(1, CHORD_MEMBERS + 1))
    assert all(results.get(i) == str(expected_total) for i in ids["chords"]), "a chord went wrong"
    assert demo.query("SELECT count(*) FROM tasks_result WHERE status != 'SUCCESS'") == [(0,)]
    effects = demo.query("SELECT key, count(*) FROM demo_effect GROUP BY key")
    assert len(effects) == total_tasks, "a step lost its effect"
    doubled = [key for key, n in effects if n != 1]
    assert not doubled, f"effects doubled: {doubled[:10]}"
    callbacks = [p for p in demo.outbox_payloads() if p["task"] == "demo.tasks.total"]
    assert len(callbacks) == CHORDS and len({p["task_id"] for p in callbacks}) == CHORDS
    print(f"\nkill -9 x{kills}: {CHAINS} chains and {CHORDS} chords, {total_tasks} tasks, "
          f"each effect once, each chord callback once")
