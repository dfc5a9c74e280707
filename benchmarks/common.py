"""Helpers shared by the ratio benchmarks: a real stack, and side-by-side timing."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

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


@dataclass(frozen=True)
class Figure:
    """One row of the results table: what was measured, against which target."""

    name: str
    measured: str
    target: str
    met: bool


# Every figure reported in this process, in order: `python -m benchmarks` prints them as one
# table at the end and writes it to RESULTS.md.
FIGURES: list[Figure] = []


def percentile(ordered: list[float], q: float) -> float:
    """The value at quantile `q` (0..1) of an already sorted, non-empty list (nearest rank)."""
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n * q), at least the first
    return ordered[int(rank) - 1]


def report(name: str, ours: float, baseline: float, target: float | None) -> bool:
    """A throughput ratio against its target (None: reported, no target)."""
    ratio = ours / baseline
    met = target is None or ratio >= target
    verdict = "reported" if target is None else (
        f"meets target {target}" if met else f"MISSES target {target}")
    print(
        f"{name:<44} ours {ours:>12,.0f}/s  baseline {baseline:>12,.0f}/s  "
        f"ratio {ratio:5.2f}  ({verdict})"
    )
    FIGURES.append(Figure(name, f"{ratio:.2f} ({ours:,.0f}/s vs {baseline:,.0f}/s)",
                          "reported" if target is None else f"≥ {target}", met))
    return met


def report_figure(name: str, measured: str, target: str, met: bool) -> bool:
    """A figure that is not a throughput ratio (latencies, rates held): printed like `report`."""
    verdict = "meets" if met else "MISSES"
    print(f"{name:<44} {measured}  ({verdict} target {target})")
    FIGURES.append(Figure(name, measured, target, met))
    return met


def results_table(figures: list[Figure]) -> str:
    """The figures as one Markdown table."""
    lines = ["| benchmark | measured | target | met |", "|---|---|---|---|"]
    for f in figures:
        cells = [f.name, f.measured, f.target, "yes" if f.met else "**no**"]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


_RATIOS = "Ratios are ours / baseline, measured side by side in the same run."


def results_page(figures: list[Figure], command: str, previous: str = "") -> str:
    """RESULTS.md: the table with when, where and how it was measured.

    A run of some benchmarks only passes `previous`, the page so far: its rows replace those
    of the same name, the others stay, and a line says when and how it measured its rows."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    run = f"{when} on a machine with {os.cpu_count()} cores, by `{command}`"
    kept = _rows_of(previous)
    if not kept:
        notes, rows = [f"Measured {run}. {_RATIOS}"], figures
    else:
        fresh = {f.name: f for f in figures}
        notes = [p for p in previous.split("\n\n")[1:] if not p.startswith("|")]
        notes.append(f"Then measured {run}: the rows it names replace the earlier ones.")
        rows = [fresh.pop(name, row) for name, row in kept.items()] + list(fresh.values())
    return "# Benchmark results\n\n" + "\n\n".join(notes) + f"\n\n{results_table(rows)}\n"


def _rows_of(page: str) -> dict[str, Figure]:
    """The figures of a results page's table, by name, in page order."""
    rows = {}
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("benchmark", "---"):
            rows[cells[0]] = Figure(cells[0], cells[1], cells[2], cells[3] == "yes")
    return rows


@contextlib.contextmanager
def stack_database(postgres: bool) -> Iterator[None]:
    """With `postgres`, a throwaway PostgreSQL server holds the web app's, the relay's and the
    workers' tables (DATABASE_URL for every component started inside), instead of the home's
    one SQLite file that all of them write to."""
    if not postgres:
        yield
        return
    from producer_django.testing import TemporaryPostgres

    before = os.environ.get("DATABASE_URL")
    with TemporaryPostgres() as pg:
        os.environ["DATABASE_URL"] = pg.create_database("shop")
        try:
            yield
        finally:
            if before is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = before


class ChildFailed(RuntimeError):
    """A benchmark's child process exited non-zero; the message carries its stderr tail."""


def run_shop_child(module: str, database: str, args: list[str], env: dict | None = None,
                   timeout_s: int = 3600) -> dict | None:
    """Run `python -m <module> --child <args>` against a fresh shop database and return the
    JSON it prints last. `database` is "sqlite" or "postgres" (a throwaway cluster); returns
    None, saying why, when PostgreSQL is not installed."""
    with tempfile.TemporaryDirectory(prefix="bench-shop-") as home:
        child_env = {**os.environ, **(env or {}), "PIPELINE_HOME": home,
                     "DJANGO_SETTINGS_MODULE": "producer_django.shop.settings"}
        child_env.pop("DATABASE_URL", None)
        pg = None
        if database == "postgres":
            from producer_django.testing import PostgresUnavailable, TemporaryPostgres

            try:
                pg = TemporaryPostgres()
                pg.start()
            except PostgresUnavailable as exc:
                print(f"postgres: skipped ({exc})")
                return None
            child_env["DATABASE_URL"] = pg.create_database("bench")
        try:
            done = subprocess.run(
                [sys.executable, "-m", module, "--child", *args],
                env=child_env, capture_output=True, text=True, timeout=timeout_s,
            )
        finally:
            if pg:
                pg.stop()
    if done.returncode != 0:
        raise ChildFailed(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])
