"""`pipeline up` plug-in: the scheduler, when the project declares a schedule.

The tasks workers (`worker-tasks`, or `worker-tasks-<queue>`) are workers of the project
(`schemas.project` declares them), so the consumers' area starts them like any other.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from deploy.runtime.process import ProcessSpec
from schemas import project as projects

HEARTBEAT_MAX_AGE_S = 15.0


def components(stack) -> list:
    if not projects.current().schedule:
        return []
    return [SchedulerComponent(stack)]


def status(stack) -> dict:
    project = projects.current()
    if not project.uses_tasks:
        return {}
    return {
        "tasks": {
            "queues": {q: projects.task_topic(q) for q in project.task_queues},
            "workers": [name for name, spec in project.workers.items()
                        if spec.handler == projects.TASK_WORKER_HANDLER],
            "schedule": sorted(project.schedule),
        }
    }


class SchedulerComponent:
    name = "scheduler"

    def __init__(self, stack):
        self.stack = stack
        self.dir = Path(stack.home) / "tasks"

    @property
    def log(self) -> Path:
        return self.dir / "scheduler.log"

    @property
    def heartbeat(self) -> Path:
        return self.dir / "scheduler.heartbeat"

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        # A heartbeat left by a dead scheduler must not make its successor look healthy.
        self.heartbeat.unlink(missing_ok=True)

    def process(self) -> ProcessSpec:
        from producer_django.stack import django_env

        return ProcessSpec(
            argv=[sys.executable, "-m", "deploy.cli", "scheduler", "--heartbeat",
                  str(self.heartbeat)],
            log=self.log,
            env=django_env(self.stack.settings, self.stack.home),
        )

    def healthy(self) -> bool:
        try:
            return time.time() - self.heartbeat.stat().st_mtime < HEARTBEAT_MAX_AGE_S
        except OSError:
            return False
