import time
import uuid

from schemas.ids import derived_event_id, new_event_id


def test_a_new_event_id_is_a_version_7_uuid_carrying_the_time():
    before = time.time_ns() // 1_000_000
    parsed = uuid.UUID(new_event_id())
    after = time.time_ns() // 1_000_000
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= parsed.int >> 80 <= after


def test_ids_made_in_different_milliseconds_sort_in_the_order_they_were_made():
    first = new_event_id()
    time.sleep(0.002)
    second = new_event_id()
    assert first < second  # as text too: what the inbox and outbox indexes compare


def test_ids_are_unique():
    ids = {new_event_id() for _ in range(100_000)}
    assert len(ids) == 100_000


def test_derived_ids_stay_deterministic():
    assert derived_event_id("a", "T", 1) == derived_event_id("a", "T", 1)
    assert derived_event_id("a", "T", 1) != derived_event_id("a", "T", 2)
