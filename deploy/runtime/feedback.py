"""Progress of long stack work (`up`, `down`): one line per component as it changes state.

The stack calls `feedback(name, state, detail)`; states are "starting", "healthy", "running",
"stopping", "stopped", "not running", "waiting" and "failed". On a terminal (with rich installed)
a spinner shows what is being waited for; otherwise, for logs and pipes, plain lines.
"""

from __future__ import annotations

import os
import sys
from typing import Protocol, TextIO

NAME_WIDTH = 22
_STYLES = {
    "healthy": "green",
    "running": "green",
    "stopped": "dim",
    "not running": "dim",
    "waiting": "yellow",
    "failed": "bold red",
}


class Feedback(Protocol):
    def __call__(self, name: str, state: str, detail: str = "") -> None: ...


def silent(name: str, state: str, detail: str = "") -> None:
    """The default for library callers (tests, the demo): say nothing."""


def format_line(name: str, state: str, detail: str = "") -> str:
    return f"{name:<{NAME_WIDTH}} {state}" + (f" {detail}" if detail else "")


class PlainFeedback:
    """Lines for logs and pipes, flushed at once so a watcher sees them as they happen."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def __call__(self, name: str, state: str, detail: str = "") -> None:
        self.line(format_line(name, state, detail))

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def close(self) -> None:
        pass


class RichFeedback:
    """A spinner while a component starts or stops, then its outcome as a coloured line."""

    def __init__(self, stream: TextIO):
        from rich.console import Console

        self.console = Console(file=stream, highlight=False)
        self._status = None

    def __call__(self, name: str, state: str, detail: str = "") -> None:
        self._stop_spinner()
        if state in ("starting", "stopping", "waiting"):
            self._status = self.console.status(format_line(name, state + "…", detail))
            self._status.start()
            if state != "waiting":
                return
        style = _STYLES.get(state, "")
        label = f"[{style}]{state}[/]" if style else state
        self.console.print(f"{name:<{NAME_WIDTH}} {label}" + (f" {detail}" if detail else ""))

    def line(self, text: str) -> None:
        self._stop_spinner()
        self.console.print(text, markup=False)

    def close(self) -> None:
        self._stop_spinner()

    def _stop_spinner(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def for_stream(stream: TextIO = sys.stdout):
    """Rich on an interactive terminal when rich is installed, plain lines otherwise."""
    interactive = stream.isatty() and os.environ.get("TERM") != "dumb"
    if interactive:
        try:
            return RichFeedback(stream)
        except ImportError:  # rich comes with the `replay` extra
            pass
    return PlainFeedback(stream)
