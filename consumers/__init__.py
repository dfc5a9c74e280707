"""Consumer-group workers: a small runtime on confluent-kafka for the project's handlers.

`consumers.runtime.run_worker` runs one worker (one consumer group) for a handler declared under
`[tool.event-pipeline.workers]` (`consumers.handlers`); failures hop through retry topics to a
dead-letter topic per group (`consumers.routing`, `consumers.dlq`). The shop's handlers, the
reference example, live in `consumers.shop`.
"""
