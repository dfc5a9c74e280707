from datetime import UTC, datetime

from schemas.ids import derived_event_id
from schemas.serde import EventSerializer
from streams.codec import Event
from streams.shop import fanout_rules as rules

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def event(event_type, **payload):
    return Event(event_type, {"event_id": f"id-{event_type}", "occurred_at": AT,
                              "aggregate_id": "agg", "aggregate_version": 3,
                              "correlation_id": "corr", "causation_id": None,
                              "producer": "shop", **payload})


USER = {"email": "ada@example.com", "name": "Ada"}
LINES = [{"sku": "B", "quantity": 1, "unit_price_cents": 5},
         {"sku": "A", "quantity": 1, "unit_price_cents": 5}]


def test_notification_templates_follow_the_contract():
    placed = event("OrderPlaced", order_id="o1", user_id="u1", lines=LINES, total_cents=10)
    note = rules.user_notification(placed, USER, "streams-fanout")
    assert note["template"] == "order_confirmation"
    assert note["params"] == {"name": "Ada", "order_id": "o1", "total_cents": "10"}
    assert note["recipient"] == "ada@example.com" and note["user_id"] == "u1"
    assert note["event_id"] == derived_event_id("id-OrderPlaced", "NotificationRequested", 0)
    assert note["causation_id"] == "id-OrderPlaced" and note["correlation_id"] == "corr"
    assert note["occurred_at"] == int(AT.timestamp() * 1000)
    welcome = rules.user_notification(
        event("UserRegistered", user_id="u1", email="x", name="Ada"), USER, "p")
    assert (welcome["template"], welcome["params"]) == ("welcome", {"name": "Ada"})
    shipped = rules.user_notification(
        event("OrderShipped", order_id="o1", user_id="u1", carrier="DHL", tracking_number="T"),
        USER, "p")
    assert shipped["params"] == {"name": "Ada", "order_id": "o1", "carrier": "DHL",
                                 "tracking_number": "T"}


def test_derived_events_validate_against_their_schemas():
    serializer = EventSerializer(registry=None)
    placed = event("OrderPlaced", order_id="o1", user_id="u1", lines=LINES, total_cents=10)
    for event_type, record in rules.search_and_cache(placed, "p"):
        serializer.validate(event_type, record)
    serializer.validate("NotificationRequested", rules.user_notification(placed, USER, "p"))
    alert = event("LowStockDetected", sku="A", on_hand=1, threshold=5)
    serializer.validate("NotificationRequested", rules.low_stock_notification(alert, "ops@x", "p"))


def test_search_and_cache_per_event_type():
    placed = event("OrderPlaced", order_id="o1", user_id="u1", lines=LINES, total_cents=10)
    out = dict(rules.search_and_cache(placed, "p"))
    assert out["SearchDocumentUpserted"]["document_id"] == "order:o1"
    assert out["CacheInvalidated"]["keys"] == ["order:o1", "product:A", "product:B"]
    cancelled = dict(rules.search_and_cache(
        event("OrderCancelled", order_id="o1", user_id="u1", reason="r", lines=LINES), "p"))
    assert cancelled["SearchDocumentDeleted"]["document_id"] == "order:o1"
    created = dict(rules.search_and_cache(
        event("ProductCreated", sku="A", name="Teapot", price_cents=1, stock=1), "p"))
    assert created["SearchDocumentUpserted"]["title"] == "Teapot"
    assert created["CacheInvalidated"]["keys"] == ["product:A"]
    assert rules.search_and_cache(event("UserRegistered", user_id="u", email="e", name="n"),
                                  "p") == []


def test_parked_events_round_trip_through_json():
    placed = event("OrderPlaced", order_id="o1", user_id="u1", lines=LINES, total_cents=10)
    back = rules.from_json(rules.to_json(placed))
    assert rules.user_notification(back, USER, "p") == rules.user_notification(placed, USER, "p")
