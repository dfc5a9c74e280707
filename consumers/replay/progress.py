"""The progress bar on stderr: records read of the range, records/s and ETA (rich)."""

from __future__ import annotations

import sys

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
        return Text(f"{speed:,.0f} rec/s" if speed else "- rec/s", style="progress.data.speed")


class ReplayProgress:
    """Context manager; `update(read)` sets the records read so far. Silent when disabled."""

    def __init__(self, description: str, total: int, *, enabled: bool | None = None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self._progress = (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                RateColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            if enabled
            else None
        )
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
