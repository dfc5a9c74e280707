"""Worker settings, in one place. Unknown keys are errors, never ignored.

These are the runtime's own (batching, retries, metrics, membership). A handler's options are
its own too: the declared `[tool.event-pipeline.workers.<name>] options = {...}` are passed to
its class or factory as keyword arguments (`consumers.handlers.make_handler`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from schemas.errors import ConfigError

DEFAULT_RETRY_DELAYS_S = (1.0, 10.0, 60.0)


@dataclass(frozen=True)
class WorkerOptions:
    batch_size: int = 500
    # How long the worker waits for a first record; also bounds the SIGTERM reaction time.
    poll_timeout_s: float = 0.5
    # Non-blocking retries: one retry topic per delay, then the group's dead-letter topic.
    retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S
    auto_commit_interval_ms: int = 1000
    statistics_interval_ms: int = 5000
    metrics_port: int | None = None
    # Loopback by default; 0.0.0.0 in a container so Prometheus can scrape it.
    metrics_host: str = "127.0.0.1"
    # Static group membership (`group.instance.id`): one distinct id per process.
    instance_id: str | None = None

    def __post_init__(self):
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if any(d < 0 for d in self.retry_delays_s):
            raise ConfigError(f"retry_delays_s must be >= 0, got {self.retry_delays_s}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> WorkerOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(
                f"unknown worker options {sorted(unknown)}; known options: {sorted(known)}"
            )
        values = dict(values)
        if "retry_delays_s" in values:
            values["retry_delays_s"] = tuple(float(d) for d in values["retry_delays_s"])
        return cls(**values)

    def replace(self, **changes) -> WorkerOptions:
        return dataclasses.replace(self, **changes)


def parse_delays(text: str) -> tuple[float, ...]:
    """'1,10,60' -> (1.0, 10.0, 60.0); '' -> () (no retries: failures go to the dead letters)."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(
            f"retry delays {text!r} are not numbers; give seconds separated by commas, e.g. 1,10,60"
        ) from None
