"""Prometheus metrics per task: succeeded, failed, retried, and how long runs take."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class TaskMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        # The worker's own registry when the runtime offers it, so they share its /metrics.
        self.registry = registry or CollectorRegistry()
        self.succeeded = Counter("pipeline_task_succeeded", "Task runs that returned",
                                 ["task"], registry=self.registry)
        self.failed = Counter("pipeline_task_failed", "Tasks that failed their last attempt "
                              "(or could not run) and went to the dead letters", ["task"],
                              registry=self.registry)
        self.retried = Counter("pipeline_task_retried", "Failed attempts that will be retried",
                               ["task"], registry=self.registry)
        self.duration = Histogram("pipeline_task_duration_seconds", "Time spent in the task "
                                  "function", ["task"], registry=self.registry)
