"""Results: AsyncResult/GroupResult for callers, and the SQL the worker records them with.

Results live in the outbox's database (table `tasks_result`), written by the worker in the
transaction that runs the task, and are deleted `PIPELINE_TASKS["RESULT_EXPIRES_S"]` after the
task finished. A task with no row is PENDING (not run yet, or expired).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from producer_django.tasks.errors import ResultInTransaction, TaskFailed, TaskTimeout

PENDING, STARTED, RETRY, SUCCESS, FAILURE = "PENDING", "STARTED", "RETRY", "SUCCESS", "FAILURE"
READY = (SUCCESS, FAILURE)

_UPSERT = (
    "INSERT INTO tasks_result (task_id, task_name, status, result, traceback, attempts, queue, "
    "root_id, chord_id, chord_index, date_done) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
    "%s) ON CONFLICT (task_id) DO UPDATE SET task_name = excluded.task_name, "
    "status = excluded.status, result = excluded.result, traceback = excluded.traceback, "
    "attempts = excluded.attempts, chord_id = excluded.chord_id, "
    "chord_index = excluded.chord_index, date_done = excluded.date_done"
)
_CHORD_DONE = (
    "INSERT INTO tasks_chord (chord_id, size, done, created_at) VALUES (%s, %s, 1, %s) "
    "ON CONFLICT (chord_id) DO UPDATE SET done = tasks_chord.done + 1 RETURNING done"
)
_CHORD_RESULTS = (
    "SELECT chord_index, result FROM tasks_result WHERE chord_id = %s AND status = 'SUCCESS' "
    "ORDER BY chord_index"
)


def record(cursor, connection, request, status: str, *, result_json: str | None = None,
           traceback: str = "", chord: dict | None = None) -> None:
    """Upsert the task's row in the open transaction of `cursor`."""
    now = connection.ops.adapt_datetimefield_value(datetime.now(UTC))
    cursor.execute(_UPSERT, [
        request.task_id, request.task, status, result_json, traceback, request.attempt,
        request.queue, request.root_id or request.task_id, chord and chord["id"],
        chord and chord["index"], now,
    ])


def chord_member_done(cursor, connection, chord: dict) -> list | None:
    """Count one finished member; the member results in order if it was the last one."""
    now = connection.ops.adapt_datetimefield_value(datetime.now(UTC))
    cursor.execute(_CHORD_DONE, [chord["id"], chord["size"], now])
    (done,) = cursor.fetchone()
    if done != chord["size"]:
        return None
    cursor.execute(_CHORD_RESULTS, [chord["id"]])
    rows = cursor.fetchall()
    return [json.loads(value) if value is not None else None for _index, value in rows]


def expire(alias: str, older_than_s: float) -> int:
    """Delete results and chord counters finished more than `older_than_s` ago."""
    from producer_django.tasks.models import ChordCounter, TaskResult

    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
    deleted = TaskResult.objects.using(alias).filter(
        date_done__lt=cutoff, status__in=READY).delete()[0]
    ChordCounter.objects.using(alias).filter(created_at__lt=cutoff).delete()
    return deleted


class AsyncResult:
    """The result of one task, read from the result table on each access."""

    def __init__(self, task_id: str, parent: AsyncResult | None = None, using: str | None = None):
        self.id = self.task_id = str(task_id)
        self.parent = parent
        self._using = using

    def __repr__(self) -> str:
        return f"<AsyncResult {self.id}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, AsyncResult) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def _row(self) -> dict[str, Any] | None:
        from producer_django.tasks.conf import database_alias
        from producer_django.tasks.models import TaskResult

        return TaskResult.objects.using(self._using or database_alias()).filter(
            task_id=self.id).values("status", "result", "traceback").first()

    @property
    def status(self) -> str:
        row = self._row()
        return row["status"] if row else PENDING

    state = status

    @property
    def result(self) -> Any:
        """The return value once SUCCESS; the error text once FAILURE or RETRY; else None."""
        row = self._row()
        if not row:
            return None
        if row["status"] == SUCCESS:
            return json.loads(row["result"]) if row["result"] is not None else None
        if row["status"] in (FAILURE, RETRY):
            return _last_line(row["traceback"])
        return None

    @property
    def traceback(self) -> str | None:
        row = self._row()
        return (row["traceback"] or None) if row else None

    def ready(self) -> bool:
        return self.status in READY

    def successful(self) -> bool:
        return self.status == SUCCESS

    def failed(self) -> bool:
        return self.status == FAILURE

    def get(self, timeout: float | None = None, interval: float = 0.05) -> Any:
        """Wait until the task finished; its return value, or TaskFailed (with the worker's
        traceback) if it failed, or TaskTimeout after `timeout` seconds."""
        _not_in_transaction(self._using)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            row = self._row()
            if row and row["status"] == SUCCESS:
                return json.loads(row["result"]) if row["result"] is not None else None
            if row and row["status"] == FAILURE:
                raise TaskFailed(f"task {self.id} failed: {_last_line(row['traceback'])}",
                                 row["traceback"])
            if deadline is not None and time.monotonic() >= deadline:
                raise TaskTimeout(
                    f"task {self.id} is {row['status'] if row else PENDING} after {timeout} s; "
                    "is a tasks worker running (`pipeline up`, or `pipeline worker tasks`)?"
                )
            time.sleep(interval)


class GroupResult:
    """The results of a group, in the order of its tasks."""

    def __init__(self, results: list[AsyncResult]):
        self.results = results

    def __iter__(self):
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def ready(self) -> bool:
        return all(r.ready() for r in self.results)

    def successful(self) -> bool:
        return all(r.successful() for r in self.results)

    def completed_count(self) -> int:
        return sum(r.successful() for r in self.results)

    def get(self, timeout: float | None = None, interval: float = 0.05) -> list:
        deadline = None if timeout is None else time.monotonic() + timeout
        values = []
        for result in self.results:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            values.append(result.get(timeout=left, interval=interval))
        return values


def _not_in_transaction(using: str | None) -> None:
    from django.db import transaction

    from producer_django.tasks.conf import database_alias

    if transaction.get_connection(using or database_alias()).in_atomic_block:
        raise ResultInTransaction(
            "AsyncResult.get() inside transaction.atomic(): the task cannot start before this "
            "transaction commits, so it would wait forever; call get() after the atomic block"
        )


def _last_line(text: str | None) -> str | None:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else None
