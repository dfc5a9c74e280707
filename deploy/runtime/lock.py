"""One `pipeline up` (or `down`) at a time per PIPELINE_HOME: an fcntl lock on a file in the home.

The kernel drops the lock when its holder exits, even on kill -9, so a crashed `up` never leaves
the home locked. The holder writes its pid into the file so a waiter can say whom it waits for.
Re-entrant within one process: `Stack.up` takes it, and so does `pipeline up` around it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from schemas.errors import PipelineError

WAIT_TIMEOUT_S = 900.0


class StackBusy(PipelineError):
    """Another process held the home's lock for longer than we were willing to wait."""

    retriable = True


class HomeLock:
    def __init__(self, path: Path, timeout_s: float = WAIT_TIMEOUT_S):
        self.path = Path(path)
        self.timeout_s = timeout_s
        self._depth = 0
        self._file = None

    @property
    def holding(self) -> bool:
        """This process holds the lock now."""
        return self._depth > 0

    @contextmanager
    def held(self, on_wait: Callable[[int | None], None] = lambda holder: None) -> Iterator[None]:
        """Hold the lock for the block; `on_wait(holder_pid)` is called once if we must wait."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._acquire(on_wait)
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            self._release()

    def _acquire(self, on_wait) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        deadline = time.monotonic() + self.timeout_s
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    on_wait(self.holder())
                    waited = True
                if time.monotonic() > deadline:
                    handle.close()
                    raise StackBusy(
                        f"another process (pid {self.holder() or 'unknown'}) has held "
                        f"{self.path} for over {self.timeout_s:.0f}s; wait for it to finish or "
                        "stop it, then run the command again"
                    ) from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def _release(self) -> None:
        handle, self._file = self._file, None
        if handle is None:
            return
        handle.truncate(0)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

    def holder(self) -> int | None:
        try:
            return int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None
