"""librdkafka settings and calls shared by the project's clients: producing one record while
the local queue may be full, and the fetch settings of consumers that read in bulk."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from schemas.errors import PipelineError

DEFAULT_TIMEOUT_S = 60.0

# librdkafka stops fetching a partition once its local queue holds queued.min.messages (or
# queued.max.messages.kbytes), and looks again only after fetch.queue.backoff.ms: 1000 by
# default. A Python loop drains such a queue in a fraction of that second and then waits out
# the rest; reading 1M small records took 7.4 s with the default and 2.2 s with 10 ms.
BULK_CONSUMER_CONF = {"fetch.queue.backoff.ms": 10}


def produce_blocking(
    producer,
    topic: str,
    value: bytes | None,
    *,
    key: bytes | None = None,
    headers=None,
    on_delivery: Callable | None = None,
    stop: threading.Event | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    poll_s: float = 0.1,
) -> bool:
    """`producer.produce(...)`, serving delivery reports while the local queue is full.

    True once the record is queued; False if `stop` was set while waiting for room (the record
    was not queued). Raises PipelineError naming the topic if there is no room within
    `timeout_s` (the broker is unreachable or slower than the records come in).
    """
    deadline = None  # set on the first full queue: most records are queued at once
    while True:
        try:
            producer.produce(topic, value, key, on_delivery=on_delivery, headers=headers)
            return True
        except BufferError:
            if stop is not None and stop.is_set():
                return False
            if deadline is None:
                deadline = time.monotonic() + timeout_s
            elif time.monotonic() >= deadline:
                raise PipelineError(
                    f"cannot produce to {topic}: the producer's local queue stayed full for "
                    f"{timeout_s:g}s (is the broker reachable?)"
                ) from None
            producer.poll(poll_s)
