"""The notebook API: iterate decoded records of a range, or get a pandas DataFrame.

    from consumers.replay import records, dataframe
    for r in records("billing.invoices", start="2026-11-22T10:00Z", where=["amount_cents>1000"]):
        print(r.offset, r.value["invoice_id"])
    df = dataframe("billing.customers", limit=1000)        # needs the `notebook` extra (pandas)

Settings default to the environment (`schemas.config.from_env`), read at call time.
"""

from __future__ import annotations

from collections.abc import Iterator

from consumers.replay.errors import ReplayError
from consumers.replay.session import Record, Replay
from schemas.config import ConnectionSettings, from_env


def records(
    topic: str,
    start=None,
    end=None,
    *,
    settings: ConnectionSettings | None = None,
    partitions: list[int] | None = None,
    where: list[str] | None = None,
    limit: int | None = None,
    raw: bool = False,
    unmask: bool = False,
) -> Iterator[Record]:
    """Records of `topic` in `[start, end)` (datetimes, ISO strings, offsets, None = whole)."""
    replay = Replay(
        settings or from_env(),
        topic,
        start,
        end,
        partitions=partitions,
        where=where,
        limit=limit,
        raw=raw,
        unmask=unmask,
        allow_empty=True,
    )
    yield from replay


def dataframe(topic: str, start=None, end=None, **options):
    """The records as a pandas DataFrame: coordinates plus one column per payload field."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ReplayError(
            "dataframe() needs pandas: pip install 'event-pipeline[notebook]'"
        ) from exc
    rows = []
    for r in records(topic, start, end, **options):
        row = {
            "topic": r.topic,
            "partition": r.partition,
            "offset": r.offset,
            "timestamp": pd.Timestamp(r.timestamp, unit="ms", tz="UTC"),
            "key": r.key,
            "event_type": r.event_type,
        }
        if r.value is not None:
            row.update(r.value)
        else:
            row["value"] = r.raw
        rows.append(row)
    return pd.DataFrame(rows)
