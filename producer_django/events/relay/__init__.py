"""The relay: claims pending outbox rows, produces them to Kafka, marks them after delivery.

    store.py    claiming and marking rows (SKIP LOCKED on PostgreSQL, one claimer on SQLite)
    sender.py   the idempotent Kafka producer: fire a batch, then wait for every report
    lock.py     the single-claimer lock for databases without SKIP LOCKED
    loop.py     the loop: batches, backoff, retention cleanup, clean stop
"""
