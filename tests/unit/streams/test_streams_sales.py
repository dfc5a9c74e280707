from streams.shop import sales

T0 = 1_800_000_000_000 - 1_800_000_000_000 % sales.HOUR_MS


def add(state, units, at, offset, source="s:0", key=None):
    return sales.apply(state, sku="A", units=units, at_ms=at, source=source, offset=offset,
                       key=key or f"k{offset}")


def test_tumbling_minutes_and_hopping_hours():
    s = add(None, 2, T0 + 10_000, 0)
    s = add(s, 3, T0 + 50_000, 1)
    s = add(s, 4, T0 + 61 * 60_000, 2)
    assert sales.tumbling_minutes(s) == [
        {"start": T0, "end": T0 + 60_000, "units": 5},
        {"start": T0 + 61 * 60_000, "end": T0 + 62 * 60_000, "units": 4},
    ]
    hours = {w["start"]: w["units"] for w in sales.hopping_hours(s)}
    assert hours[T0] == 5                       # [T0, T0+1h) holds only the first minute
    assert hours[T0 + 5 * 60_000] == 4          # no longer holds minute 0, holds minute 61
    assert max(hours.values()) == 5          # minutes 0 and 61 never share a window
    assert all((start - T0) % sales.HOP_STEP_MS == 0 for start in hours)


def test_duplicates_are_not_counted():
    s = add(None, 2, T0, 5)
    assert add(s, 2, T0, 5) is None
    assert add(s, 2, T0, 9, key="k5") is None
    assert add(s, 2, T0, 1, source="s:1") is not None


def test_old_buckets_are_dropped():
    s = add(None, 1, T0, 0)
    s = add(s, 1, T0 + sales.RETAIN_MS + sales.MINUTE_MS, 1)
    assert [w["start"] for w in sales.tumbling_minutes(s)] == [T0 + sales.RETAIN_MS + 60_000]


def test_units_between():
    s = add(add(None, 2, T0, 0), 3, T0 + sales.HOUR_MS, 1)
    assert sales.units_between(s, T0, T0 + sales.HOUR_MS) == 2
