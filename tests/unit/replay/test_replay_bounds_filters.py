"""Pure logic of replay: range bounds and --where clauses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consumers.replay import filters
from consumers.replay.errors import BadRangeError, FilterError
from consumers.replay.ranges import Bound, check_order, format_ms, parse_bound, to_ms


def test_bound_forms():
    assert parse_bound(None, "beginning") == Bound("beginning")
    assert parse_bound("latest", "beginning") == Bound("end")
    assert parse_bound("42", "end") == Bound("offset", 42)
    assert parse_bound(7, "end") == Bound("offset", 7)
    z = parse_bound("2026-11-22T10:00:00Z", "end")
    assert z == Bound("time", to_ms(datetime(2026, 11, 22, 10, tzinfo=UTC)))
    # A naive datetime is UTC; a date is its midnight UTC.
    assert parse_bound("2026-11-22T10:00:00", "end") == z
    assert parse_bound("2026-11-22", "end").value == to_ms(datetime(2026, 11, 22, tzinfo=UTC))
    assert parse_bound("2026-11-22T12:00:00+02:00", "end") == z
    assert format_ms(z.value) == "2026-11-22T10:00:00.000+00:00"


def test_bad_bounds_name_the_fix():
    with pytest.raises(BadRangeError, match="ISO datetime"):
        parse_bound("yesterday-ish", "end")
    with pytest.raises(BadRangeError, match="negative"):
        parse_bound(-3, "end")


def test_to_before_from():
    with pytest.raises(BadRangeError, match="before --from"):
        check_order(parse_bound("2026-01-02", "b"), parse_bound("2026-01-01", "e"))
    with pytest.raises(BadRangeError, match="before --from"):
        check_order(parse_bound(10, "b"), parse_bound(3, "e"))
    check_order(parse_bound(3, "b"), parse_bound("2026-01-01", "e"))  # mixed kinds: per partition


ORDER = {
    "order_id": "o-1",
    "total_cents": 1500,
    "occurred_at": datetime(2026, 11, 22, 10, tzinfo=UTC),
    "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 3}],
    "causation_id": None,
}


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("total_cents>1000", True),
        ("total_cents<=1000", False),
        ("total_cents=1500", True),
        ("order_id=o-2,o-1", True),
        ("order_id!=o-1", False),
        ("lines.sku=B", True),
        ("lines.quantity>2", True),
        ("lines.sku=C", False),
        ("order_id~-1", True),
        ("occurred_at>=2026-11-22T09:00Z", True),
        ("occurred_at<2026-11-22", False),
        ("event_type=OrderPlaced", True),
        ("key=o-1", True),
        ("causation_id=x", False),
    ],
)
def test_clauses(clause, expected):
    assert filters.matches(filters.parse([clause]), "OrderPlaced", "o-1", ORDER) is expected


def test_all_clauses_must_hold_and_missing_fields_do_not_match():
    clauses = filters.parse(["total_cents>1000", "event_type=OrderShipped"])
    assert not filters.matches(clauses, "OrderPlaced", "o-1", ORDER)
    assert not filters.matches(filters.parse(["carrier=DHL"]), "OrderPlaced", "o-1", ORDER)


def test_malformed_and_mistyped_clauses():
    with pytest.raises(FilterError, match="FIELD OP VALUE"):
        filters.parse(["total_cents"])
    with pytest.raises(FilterError, match="not a valid int"):
        filters.matches(filters.parse(["total_cents>lots"]), "OrderPlaced", "o-1", ORDER)


def test_unknown_field_suggests_close_names():
    from schemas import catalog

    known = filters.field_paths(catalog.event_type("OrderPlaced").schema_dict())
    assert ("lines", "sku") in known
    with pytest.raises(FilterError, match="did you mean total_cents"):
        filters.check_fields(filters.parse(["total_cent>1"]), known, "shop.orders")
    filters.check_fields(filters.parse(["lines.sku=A", "event_type=X"]), known, "shop.orders")
