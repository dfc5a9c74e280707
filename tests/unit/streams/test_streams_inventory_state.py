from datetime import UTC, datetime

from schemas.ids import derived_event_id
from streams.codec import Event
from streams.shop.inventory_state import Change, apply, changes_from, is_duplicate, public_view


def change(offset, delta, *, source="shop.orders:1", event_id=None, cause="OrderPlaced", n=0):
    return Change(sku="A", delta=delta, sold=max(-delta, 0), cause_type=cause,
                  event_id=event_id or f"e{offset}", correlation_id="c", occurred_at_ms=1000,
                  n=n, source=source, offset=offset)


def run(changes, threshold=5):
    state, outcomes = None, []
    for c in changes:
        outcome = apply(state, c, threshold=threshold, producer="p")
        state = outcome.state
        outcomes.append(outcome)
    return state, outcomes


def test_levels_add_up_and_versions_count_applied_changes():
    state, outcomes = run([change(0, 10, source="shop.products:0", cause="ProductCreated"),
                           change(1, -3), change(2, -2)])
    assert state["on_hand"] == 5 and state["version"] == 3
    assert [o.level["on_hand"] for o in outcomes] == [10, 7, 5]
    assert outcomes[1].level["event_id"] == derived_event_id("e1", "InventoryLevel", 0)
    assert outcomes[1].level["causation_id"] == "e1"
    assert outcomes[1].level["aggregate_version"] == 2


def test_a_replayed_source_position_is_not_applied_twice():
    state, _ = run([change(5, -1), change(6, -1)])
    again = apply(state, change(5, -1), threshold=0, producer="p")
    assert not again.applied and again.state["on_hand"] == -2
    # It re-publishes the current level unchanged, so a lost level send is healed.
    assert again.level == state["level"]


def test_the_same_event_at_a_new_offset_is_a_duplicate():
    state, _ = run([change(5, -1, event_id="x")])
    assert is_duplicate(state, change(9, -1, event_id="x"))
    assert not is_duplicate(state, change(9, -1, event_id="x", n=1))


def test_positions_delivered_out_of_order_after_a_rebalance_are_all_applied():
    # faust may deliver a prefetched higher offset before the lower ones re-read from the
    # committed position; none of them may be lost, and a later replay is still a duplicate.
    state, outcomes = run([change(1, -1), change(7, -1), change(5, -1), change(6, -1)])
    assert all(o.applied for o in outcomes) and state["on_hand"] == -4
    assert is_duplicate(state, change(5, -1, event_id="other"))
    assert not is_duplicate(state, change(4, -1, event_id="other"))


def test_applied_positions_are_bounded_and_older_ones_count_as_applied():
    from streams.dedupe import APPLIED_OFFSETS

    state, _ = run([change(o, -1) for o in range(10, 10 + APPLIED_OFFSETS + 5)])
    assert len(state["applied"]["shop.orders:1"]) == APPLIED_OFFSETS
    assert is_duplicate(state, change(3, -1, event_id="older"))


def test_other_partitions_have_their_own_watermark():
    state, _ = run([change(5, -1, source="shop.orders:1")])
    assert not is_duplicate(state, change(3, -1, source="shop.orders:2"))


def test_low_stock_once_per_crossing_and_only_for_known_products():
    state, outcomes = run([
        change(0, -2),                                               # unknown product: no alert
        change(1, 10, source="shop.products:0", cause="ProductCreated"),   # 8
        change(2, -4),                                               # 4: crosses
        change(3, -1),                                               # 3: still low
        change(4, 10),                                               # 13: re-armed
        change(5, -10),                                              # 3: crosses again
    ])
    assert [o.alert is not None for o in outcomes] == [False, False, True, False, False, True]
    assert outcomes[2].alert["on_hand"] == 4 and outcomes[2].alert["threshold"] == 5
    assert public_view(state)["low_stock"] is True


def test_duplicate_re_emits_the_alert_only_while_still_low():
    state, outcomes = run([change(0, 10, source="shop.products:0", cause="ProductCreated"),
                           change(1, -8)])
    assert apply(state, change(1, -8), threshold=5, producer="p").alert == outcomes[1].alert
    state, _ = run([change(0, 10, source="shop.products:0", cause="ProductCreated"),
                    change(1, -8), change(2, 8)])
    assert apply(state, change(1, -8), threshold=5, producer="p").alert is None


def test_changes_from_an_order_sum_lines_per_sku_in_a_stable_order():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    record = {"event_id": "e", "correlation_id": "c", "occurred_at": at,
              "lines": [{"sku": "B", "quantity": 1}, {"sku": "A", "quantity": 2},
                        {"sku": "B", "quantity": 3}]}
    changes = changes_from(Event("OrderPlaced", record), "shop.orders:4", 17)
    assert [(c.sku, c.delta, c.sold, c.n) for c in changes] == [("A", -2, 2, 0), ("B", -4, 4, 1)]
    assert changes[0].occurred_at_ms == int(at.timestamp() * 1000)
    cancelled = changes_from(Event("OrderCancelled", record), "shop.orders:4", 18)
    assert [(c.delta, c.sold) for c in cancelled] == [(2, 0), (4, 0)]
    assert changes_from(Event("OrderShipped", record), "shop.orders:4", 19) == []
