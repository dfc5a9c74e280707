"""Consumer-group workers: a small runtime on confluent-kafka and the handlers with side effects.

`consumers.runtime.run_worker` runs one worker (one consumer group); `consumers.handlers`
holds the notifications, search-index and cache-refresh handlers; failures hop through retry
topics to a dead-letter topic per group (`consumers.routing`, `consumers.dlq`).
"""
