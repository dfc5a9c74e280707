"""DRF throttling of writes: POST/PUT/PATCH/DELETE count against the `write` rate per user
(per client address when anonymous); reads pass untouched.

The history lives in Django's default cache, so every server process must share it (a
database or Redis cache); a per-process cache (LocMemCache) multiplies the rate by the number
of processes.
"""

from __future__ import annotations

import math

from rest_framework.exceptions import Throttled
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import UserRateThrottle

PERIODS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


class WriteRateExceeded(Throttled):
    """429 whose JSON names the limit; DRF's handler sets Retry-After from `wait`."""

    def __init__(self, rate: str, wait: float):
        count, period = rate.split("/")
        limit = f"{count} writes per {PERIODS[period[0]]} per user"
        self.wait = max(1, math.ceil(wait))
        super(Throttled, self).__init__(
            {
                "detail": f"too many writes: the limit is {limit}; retry after "
                          f"{self.wait} s (the Retry-After header)",
                "limit": rate,
            },
            self.default_code,
        )


class WriteRateThrottle(UserRateThrottle):
    scope = "write"

    def allow_request(self, request, view) -> bool:
        if request.method in SAFE_METHODS or super().allow_request(request, view):
            return True
        # When the rate was lowered below the history DRF has no estimate: a whole period.
        raise WriteRateExceeded(self.rate, self.wait() or self.duration)
