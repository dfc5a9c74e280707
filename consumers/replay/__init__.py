"""Replay for analysts: read, filter and export any topic range; reprocess; rebuild tables.

`pipeline replay ...` / `pipeline offsets reset ...` on the command line (`cli.py`), and for
notebooks `records(...)` and `dataframe(...)` (`api.py`). See README.md, "Replay".
"""

from consumers.replay.api import dataframe, records
from consumers.replay.session import Record, Replay

__all__ = ["Record", "Replay", "dataframe", "records"]
