"""The indexer's bounds, read from the environment in one place (`from_env`).

    PIPELINE_LINEAGE_MAX_ROWS        events kept (default 1,000,000; the oldest go first)
    PIPELINE_LINEAGE_MAX_DAYS        days kept, by record timestamp (default 7, the topics'
                                     default retention)
    PIPELINE_LINEAGE_PRUNE_INTERVAL  seconds between prunes (default 10)
    PIPELINE_LINEAGE_PRUNE_BATCH     rows deleted per prune at most (default 20,000), so a prune
                                     never holds the database's write lock for long

Any other PIPELINE_LINEAGE_* variable is an error: a typo must not be silently ignored.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from schemas.errors import ConfigError

PREFIX = "PIPELINE_LINEAGE_"
_ENV_KEYS = {
    "MAX_ROWS": ("max_rows", int),
    "MAX_DAYS": ("max_days", float),
    "PRUNE_INTERVAL": ("prune_interval_s", float),
    "PRUNE_BATCH": ("prune_batch", int),
}
DAY_MS = 86_400_000


@dataclass(frozen=True)
class LineageSettings:
    max_rows: int = 1_000_000
    max_days: float = 7.0
    prune_interval_s: float = 10.0
    prune_batch: int = 20_000

    def __post_init__(self):
        for name in ("max_rows", "max_days", "prune_batch"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"lineage {name} must be > 0, got {getattr(self, name)}")
        if self.prune_interval_s < 0:
            raise ConfigError(f"lineage prune_interval_s must be >= 0, got "
                              f"{self.prune_interval_s}")

    @property
    def max_age_ms(self) -> int:
        return int(self.max_days * DAY_MS)

    def replace(self, **changes) -> LineageSettings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def from_env(environ: Mapping[str, str] | None = None) -> LineageSettings:
    environ = os.environ if environ is None else environ
    values = {}
    for name, raw in environ.items():
        if not name.startswith(PREFIX):
            continue
        key = name[len(PREFIX):]
        if key not in _ENV_KEYS:
            known = ", ".join(PREFIX + k for k in _ENV_KEYS)
            raise ConfigError(f"unknown variable {name}; known: {known}")
        field, kind = _ENV_KEYS[key]
        try:
            values[field] = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r} is not a {kind.__name__}; e.g. {name}=7") from None
    return LineageSettings(**values)
