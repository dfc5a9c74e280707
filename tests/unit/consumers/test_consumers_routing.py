from __future__ import annotations

from consumers import routing
from consumers.message import Record, header

DELAYS = (1.0, 10.0, 60.0)


def _origin() -> Record:
    return Record("shop.notifications", b"\x00value", b"user-1", 2, 41,
                  [("event_id", b"e-1"), ("event_type", b"NotificationRequested")])


def _as_record(hop: routing.Hop, offset: int = 0) -> Record:
    return Record(hop.topic, hop.value, hop.key, 0, offset, hop.headers)


def test_failures_walk_the_retry_topics_then_the_dead_letter_topic():
    msg = _origin()
    seen = []
    for expected_attempt in range(1, 5):
        hop = routing.next_hop(msg, "worker-x", DELAYS, ValueError("boom"), now_ms=1000)
        seen.append(hop.topic)
        assert header(_as_record(hop), routing.H_ATTEMPT) == str(expected_attempt)
        msg = _as_record(hop, offset=expected_attempt * 7)
    assert seen == ["worker-x.retry.1", "worker-x.retry.2", "worker-x.retry.3", "worker-x.dlq"]
    assert header(msg, routing.H_REASON) == routing.REASON_EXHAUSTED
    # The origin is the first topic, not the retry topic the last attempt came from.
    assert header(msg, routing.H_ORIGIN_TOPIC) == "shop.notifications"
    assert header(msg, routing.H_ORIGIN_PARTITION) == "2"
    assert header(msg, routing.H_ORIGIN_OFFSET) == "41"
    assert header(msg, "event_id") == "e-1"
    assert msg.value() == b"\x00value" and msg.key() == b"user-1"


def test_retry_hops_carry_their_due_time_and_the_error():
    hop = routing.next_hop(_origin(), "g", DELAYS, KeyError("missing"), now_ms=5_000)
    record = _as_record(hop)
    assert routing.due_at_ms(record) == 6_000
    assert header(record, routing.H_ERROR_TYPE) == "KeyError"
    assert header(record, routing.H_ERROR_MESSAGE) == "'missing'"
    assert header(record, routing.H_GROUP) == "g"
    # Hop headers are replaced, never repeated.
    second = _as_record(routing.next_hop(record, "g", DELAYS, KeyError("x"), now_ms=7_000))
    names = [k for k, _v in second.headers()]
    assert names.count(routing.H_ATTEMPT) == 1 and names.count(routing.H_DUE_AT) == 1
    assert routing.due_at_ms(second) == 17_000


def test_poison_and_no_retry_configuration_go_to_the_dead_letters_at_once():
    poison = routing.next_hop(_origin(), "g", DELAYS, ValueError("bad magic byte 7"),
                              reason=routing.REASON_POISON)
    assert poison.dead_letter and poison.topic == "g.dlq"
    assert header(_as_record(poison), routing.H_REASON) == routing.REASON_POISON
    no_retries = routing.next_hop(_origin(), "g", (), ValueError("x"))
    assert no_retries.dead_letter


def test_redrive_resets_attempts_and_keeps_the_origin():
    dead = _as_record(routing.next_hop(_origin(), "g", (), ValueError("x")))
    redriven = Record("g.retry.1", dead.value(), dead.key(), 0, 0,
                      routing.redrive_headers(dead, now_ms=123))
    assert routing.attempts_so_far(redriven) == 0
    assert routing.due_at_ms(redriven) == 123
    assert header(redriven, routing.H_REASON) is None
    assert header(redriven, routing.H_ORIGIN_OFFSET) == "41"


def test_group_topics():
    assert routing.group_topics("worker-search", 2) == [
        "worker-search.retry.1", "worker-search.retry.2", "worker-search.dlq"]
