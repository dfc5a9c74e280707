"""Header names of dead letters and retry hops, shared by the stream processors and the
consumer-group workers so that `pipeline dlq` reads both alike."""

from __future__ import annotations

H_ORIGIN_TOPIC = "origin.topic"
H_ORIGIN_PARTITION = "origin.partition"
H_ORIGIN_OFFSET = "origin.offset"
H_ATTEMPT = "retry.attempt"
H_DUE_AT = "retry.due_at_ms"
H_ERROR_TYPE = "error.type"
H_ERROR_MESSAGE = "error.message"
H_GROUP = "error.group"
H_REASON = "dead_letter.reason"
# Long tracebacks would bloat every hop; the head of the message is what a reader needs.
MAX_ERROR_CHARS = 2000

REASON_EXHAUSTED = "retries exhausted"
REASON_POISON = "poison record"
REASON_PERMANENT = "permanent failure"
# A record with no value (a tombstone) on an event topic, or no key where the key routes it.
REASON_NULL_VALUE = "null value"
REASON_NULL_KEY = "null key"
