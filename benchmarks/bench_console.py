"""Console page times with a large topic: `python -m benchmarks.bench_console [--records N]`.

Fills `shop.notifications` with N records (default 1,000,000), starts the console against that
stack, logs in and times each page three times (median). The pages must not scan a topic per
request: the overview reads the sampler's memory, the message browser stops at its record and
time limits. Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time

import httpx
from confluent_kafka import Producer

from consumers.shop.testing import notification
from deploy.bootstrap import apply_catalog
from deploy.runtime.ports import free_port
from deploy.stack import INFRASTRUCTURE, Ports, Stack
from schemas import registry
from schemas.serde import EventSerializer

TOPIC = "shop.notifications"
GROUP = "worker-notifications"
PAGES = (
    "/", "/overview/live", "/api/overview", "/topics/", f"/topics/{TOPIC}/",
    f"/topics/{TOPIC}/?browse=1&from=beginning&limit=50",
    f"/topics/{TOPIC}/?browse=1&from=500000&partition=1&limit=50",
    f"/topics/{TOPIC}/?browse=1&from=2026-01-01T00:00Z&limit=50",
    f"/topics/{TOPIC}/?browse=1&from=beginning&limit=50&where=template%3Dnomatch",
    "/groups/", f"/groups/{GROUP}/", f"/groups/{GROUP}/reset?to=beginning",
    "/deadletters/", f"/deadletters/{GROUP}/", "/lineage/", "/audit/",
)
# The console's sampler needs one pass before the overview has figures.
SAMPLER_WARMUP_S = 12


def fill(stack: Stack, records: int) -> float:
    """Produce `records` copies of one valid event; returns the seconds it took."""
    serializer = EventSerializer(registry.connect(stack.settings))
    value = serializer.serialize("NotificationRequested", notification(1, "welcome"))
    producer = Producer(stack.settings.kafka_conf(**{
        "linger.ms": 50, "batch.num.messages": 10000, "compression.type": "lz4",
        "queue.buffering.max.messages": 1_000_000,
    }))
    started = time.monotonic()
    for n in range(records):
        while True:
            try:
                producer.produce(TOPIC, value, key=str(n % 97).encode())
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(300)
    return time.monotonic() - started


def logged_in(console: dict) -> httpx.Client:
    client = httpx.Client(base_url=console["url"], timeout=120)
    login = client.get("/login/").text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
    client.post("/login/", data={"username": console["username"],
                                 "password": console["password"],
                                 "csrfmiddlewaretoken": token},
                headers={"Referer": console["url"] + "/login/"})
    return client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    home = tempfile.mkdtemp(prefix="bench-console-")
    stack = Stack(home=home, ports=Ports(kafka=free_port(), kafka_controller=free_port(),
                                         registry=free_port()))
    try:
        stack.up(only=INFRASTRUCTURE)
        apply_catalog(stack.settings)
        seconds = fill(stack, args.records)
        print(f"{args.records} records on {TOPIC} in {seconds:.1f} s", flush=True)
        stack.up(only={"console"})
        client = logged_in(stack.status()["console"])
        time.sleep(SAMPLER_WARMUP_S)
        print(f"{'page':<80} {'status':>6} {'median ms':>10}")
        for path in PAGES:
            times = []
            for _ in range(3):
                started = time.monotonic()
                answer = client.get(path)
                times.append(time.monotonic() - started)
            print(f"{path:<80} {answer.status_code:>6} {statistics.median(times) * 1000:>10.0f}",
                  flush=True)
    finally:
        stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
