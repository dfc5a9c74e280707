"""A handler for the follow-up kill -9 test: one follow-up event per handled event.

Declared in a throwaway project's pyproject.toml (`tests/reliability/
test_worker_followups_kill9.py`), imported by the worker process through PYTHONPATH.
"""

from __future__ import annotations


class FollowUpPublisher:
    name = "chain"
    topics = ()  # given with --topics
    transactional = True

    def __init__(self, *, followup: str):
        self.followup = followup

    def open(self, context) -> None:
        """Nothing to prepare."""

    def handle(self, event, tx) -> None:
        tx.publish(self.followup, {"task_id": event.data["task_id"]})

    def close(self) -> None:
        """Nothing to release."""
