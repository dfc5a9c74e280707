"""Replay for analysts: read, filter and export any topic range; reprocess; rebuild tables.

`pipeline replay ...` / `pipeline offsets reset ...` on the command line (`cli.py`), and for
notebooks `records(...)` and `dataframe(...)` (`api.py`). See README.md, "Replay".

The names below load on first use: every `pipeline` command imports `consumers.replay.cli`, and
the registry client behind `Replay` costs a large part of a short command's start.
"""

from importlib import import_module

_EXPORTS = {
    "Record": "consumers.replay.session",
    "Replay": "consumers.replay.session",
    "dataframe": "consumers.replay.api",
    "records": "consumers.replay.api",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
