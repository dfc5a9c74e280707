"""Feedback on long work, on stderr: a rich display on a terminal, plain lines otherwise.

- `ReplayProgress`: records read of a range, records/s and ETA (replay exports).
- `Steps`: N named steps (topics, subjects), one advance per step.
- `Activity`: work without a count (a rebuild): what runs and for how long.

rich (the `replay` extra) is imported only when a terminal shows the display; without it, or
off a terminal, the plain form is used, so pipes and CI logs get lines, not escape codes.
"""

from __future__ import annotations

import sys
import time


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def _interactive(enabled: bool | None, err) -> bool:
    if enabled is None:
        enabled = err.isatty()
    return bool(enabled) and _rich_available()


class ReplayProgress:
    """Context manager; `update(read)` sets the records read so far. Silent when disabled."""

    def __init__(self, description: str, total: int, *, enabled: bool | None = None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._progress = _bar(rates=True) if enabled and _rich_available() else None
        self._description = description
        self._total = total
        self._task = None

    def __enter__(self) -> ReplayProgress:
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=self._total)
        return self

    def update(self, read: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=read)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()


class Steps:
    """`with Steps("registering schemas", 14) as steps: ... steps.advance(subject)`.

    On a terminal a bar that disappears when done (the command prints its results); otherwise
    a line when the work starts and one when it ends, on `err`.
    """

    def __init__(self, description: str, total: int, *, enabled: bool | None = None, err=None):
        self._err = err or sys.stderr
        self._description = description
        self._total = total
        self._done = 0
        self._started = 0.0
        self._progress = (
            _bar(rates=False, transient=True, err=self._err)
            if _interactive(enabled, self._err)
            else None
        )
        self._task = None

    def __enter__(self) -> Steps:
        self._started = time.monotonic()
        if self._progress is not None:
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=self._total)
        else:
            print(f"{self._description}: {self._total} ...", file=self._err, flush=True)
        return self

    def advance(self, label: str = "") -> None:
        self._done += 1
        if self._progress is not None:
            text = f"{self._description} {label}".rstrip()
            self._progress.update(self._task, completed=self._done, description=text)

    def __exit__(self, exc_type, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif exc_type is None:
            seconds = time.monotonic() - self._started
            print(f"{self._description}: {self._done} done in {seconds:.1f}s", file=self._err,
                  flush=True)


class Activity:
    """`with Activity("rebuilding inventory"):` a spinner with the elapsed time on a terminal,
    else a start line and an end line on `err`."""

    def __init__(self, description: str, *, enabled: bool | None = None, err=None):
        self._err = err or sys.stderr
        self._description = description
        self._started = 0.0
        self._status = None
        if _interactive(enabled, self._err):
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._status = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                console=Console(file=self._err), transient=True,
            )

    def __enter__(self) -> Activity:
        self._started = time.monotonic()
        if self._status is not None:
            self._status.start()
            self._status.add_task(self._description, total=None)
        else:
            print(f"{self._description} ...", file=self._err, flush=True)
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._status is not None:
            self._status.stop()
        elif exc_type is None:
            seconds = time.monotonic() - self._started
            print(f"{self._description}: done in {seconds:.1f}s", file=self._err, flush=True)


def _bar(*, rates: bool, transient: bool = False, err=None):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f} rec/s" if speed else "- rec/s",
                        style="progress.data.speed")

    console = Console(file=err) if err is not None else Console(stderr=True)
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
    if rates:
        columns += [RateColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    else:
        columns.append(TimeElapsedColumn())
    return Progress(*columns, console=console, transient=transient)
