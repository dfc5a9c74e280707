"""Helpers shared by the ratio benchmarks: a real stack, and side-by-side timing."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator

from deploy.bootstrap import apply_catalog
from deploy.runtime.ports import free_port
from deploy.stack import INFRASTRUCTURE, Ports, Stack
from schemas.config import ConnectionSettings


@contextlib.contextmanager
def running_stack() -> Iterator[ConnectionSettings]:
    """A broker and registry for one benchmark run (or the ones the environment names)."""
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as home:
        stack = Stack(
            home=home,
            ports=Ports(kafka=free_port(), kafka_controller=free_port(), registry=free_port()),
        )
        try:
            stack.up(only=INFRASTRUCTURE)
            apply_catalog(stack.settings)
            yield stack.settings
        finally:
            stack.down()


def best_rate(work: Callable[[], int], rounds: int) -> float:
    """Items per second of the fastest of `rounds` runs of `work` (which returns its count)."""
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        count = work()
        best = max(best, count / (time.perf_counter() - started))
    return best


def side_by_side(ours: Callable[[], int], baseline: Callable[[], int], rounds: int = 5):
    """Interleave the two so machine noise hits both alike; returns (ours/s, baseline/s)."""
    ours_best = base_best = 0.0
    for _ in range(rounds):
        base_best = max(base_best, best_rate(baseline, 1))
        ours_best = max(ours_best, best_rate(ours, 1))
    return ours_best, base_best


def report(name: str, ours: float, baseline: float, target: float) -> bool:
    ratio = ours / baseline
    verdict = "meets" if ratio >= target else "MISSES"
    print(
        f"{name:<44} ours {ours:>12,.0f}/s  baseline {baseline:>12,.0f}/s  "
        f"ratio {ratio:5.2f}  ({verdict} target {target})"
    )
    return ratio >= target
