"""The shop's settings with a mistyped PIPELINE key and a relay-owned Kafka key (for checks)."""

from producer_django.shop.settings import *  # noqa: F403

PIPELINE = {"BATCHSIZE": 10, "PRODUCER_CONFIG": {"acks": "1"}, "POLL_INTERVAL_S": "fast"}
