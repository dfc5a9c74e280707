"""How the CLI and the processes it runs log: timestamps and the component's name, as text for
people or as one JSON object per line for machines (`--log-format json`)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s {component} %(name)s: %(message)s"
# Libraries that log every HTTP request (the schema-registry client goes through httpx) at INFO.
CHATTY_LOGGERS = ("httpx", "httpcore")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, component, logger, message."""

    def __init__(self, component: str):
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self.component,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(
    *, component: str = "pipeline", level: int = logging.WARNING, fmt: str = "text", stream=None
) -> None:
    """Replace the root logger's handlers with one that writes `fmt` lines to `stream`."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: use one of {', '.join(FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(component))
    else:
        # `component` is ours, not a %-placeholder: escape what the name could contain.
        text = TEXT_FORMAT.format(component=component.replace("%", "%%"))
        handler.setFormatter(logging.Formatter(text))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    if level > logging.DEBUG:
        quiet_http_clients()


def quiet_http_clients() -> None:
    """Per-request INFO lines of the registry's HTTP client only at WARNING and above."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
