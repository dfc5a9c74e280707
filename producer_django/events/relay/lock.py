"""One claimer at a time where the database cannot skip locked rows (SQLite).

An exclusive `flock` on a file next to the database: the kernel releases it when the holder
dies, even by kill -9, so a crashed relay never blocks its successor.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading

logger = logging.getLogger(__name__)


class ClaimLock:
    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    def acquire(self, stop: threading.Event, poll_s: float = 1.0) -> bool:
        """Wait for the lock until `stop` is set; True when held."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        warned = False
        while not stop.is_set():
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not warned:
                    logger.warning("another relay holds %s; waiting to take over", self.path)
                    warned = True
                stop.wait(poll_s)
                continue
            self._fd = fd
            return True
        os.close(fd)
        return False

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
