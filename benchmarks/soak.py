"""`make soak`: the shop flow through the HTTP API at a steady rate on three secure brokers.

    python -m benchmarks.soak [--rate 50] [--minutes 10] [--brokers 3] [--plaintext] [--postgres]
    python -m benchmarks.soak --find-max [--step-minutes 1]

Starts every component `pipeline up --brokers 3 --secure` starts, in a temporary home;
customers order at `--rate` orders/s (each order: OrderPlaced -> confirmation mail, inventory,
search and cache refresh); prints p50/p99 commit -> mail (the API's 201 answer to the mail file
in the Maildir), the highest lag per consumer group, the outbox backlog, and each process's
resident memory (with its children) at the start and the end.

A rate "holds" when, over a run at it: the API accepts >= 95% of the orders asked for, no request
fails, at the run's end the outbox backlog is at most HOLD_SECONDS seconds of orders and every
group's lag at most HOLD_SECONDS seconds of records (bounded: not growing with the run), every
order got its mail, and p99 commit -> mail is under P99_BOUND_S. `--find-max` starts at --rate
and multiplies it by 1.5 per step until a step does not hold (or divides it by 1.5 until one
does, when --rate itself does not); it reports the highest that held.
Not part of `make bench` (a soak is not a ratio, and takes minutes).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass, field

from benchmarks.common import percentile, report_figure, stack_database

P99_BOUND_S = 5.0
HOLD_SECONDS = 5.0
RECORDS_PER_ORDER = 6  # generous: OrderPlaced, its fanout (mail, search, cache), inventory
SAMPLE_S = 5.0
STOCK = 1_000_000_000
MIN_RATE = 2.0  # orders/s: --find-max stops looking below this


@dataclass
class Step:
    rate: float
    minutes: float
    asked: int = 0
    placed: int = 0
    failures: list = field(default_factory=list)
    latencies: list = field(default_factory=list)
    missing_mails: int = 0
    max_backlog: int = 0
    end_backlog: int = 0
    max_lag: dict = field(default_factory=dict)
    end_lag: dict = field(default_factory=dict)

    def percentile(self, q: float) -> float | None:
        return percentile(sorted(self.latencies), q) if self.latencies else None

    def why_not(self) -> list[str]:
        """What keeps this step from holding (empty: it held)."""
        seconds = self.minutes * 60
        why = []
        if self.placed < 0.95 * self.rate * seconds:
            why.append(f"API accepted {self.placed / seconds:.1f}/s of {self.rate:g}/s")
        if self.failures:
            why.append(f"{len(self.failures)} requests failed ({self.failures[0]})")
        if self.end_backlog > HOLD_SECONDS * self.rate:
            why.append(f"outbox backlog {self.end_backlog} at the end")
        lag_bound = HOLD_SECONDS * self.rate * RECORDS_PER_ORDER
        behind = {g: n for g, n in self.end_lag.items() if n > lag_bound}
        if behind:
            why.append(f"lag at the end {behind} (bound {lag_bound:.0f})")
        if self.missing_mails:
            why.append(f"{self.missing_mails} orders without a mail")
        p99 = self.percentile(0.99)
        if p99 is None or p99 > P99_BOUND_S:
            why.append(f"p99 commit -> mail {p99 if p99 is None else round(p99, 2)} s")
        return why


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # One client token places every order: the per-user write throttle would measure itself.
    os.environ.setdefault("DJANGO_WRITE_THROTTLE_RATE", "off")
    warnings.filterwarnings("ignore")
    from deploy.runtime.bringup import up_with_catalog
    from deploy.runtime.feedback import for_stream
    from deploy.runtime.kafka import ClusterShape
    from deploy.runtime.ports import free_port
    from deploy.stack import Ports, Stack

    shape = ClusterShape(brokers=args.brokers, secure=not args.plaintext)
    with (tempfile.TemporaryDirectory(prefix="pipeline-soak-") as home,
          stack_database(args.postgres)):
        os.environ["PIPELINE_HOME"] = home  # this program's own stack, for every helper
        stack = Stack(home=home, ports=Ports(free_port(), free_port(), free_port()),
                      external=set(), shape=shape)
        progress = for_stream(sys.stdout)
        try:
            print(f"starting the stack ({shape.brokers} brokers, "
                  f"{'secure' if shape.secure else 'plaintext'})...", flush=True)
            up_with_catalog(stack, feedback=progress)
            progress.close()
            return _soak(stack, args)
        finally:
            print("stopping the stack...", flush=True)
            stack.down()


def _soak(stack, args) -> int:
    from producer_django.shop.testing import MailWatch, ShopApi

    report = stack.status()
    down = [n for n, c in report["components"].items() if not c["healthy"]]
    if down:
        print(f"unhealthy components: {down}")
        return 1
    api = ShopApi.of(report)
    tag = uuid.uuid4().hex[:6]
    skus = api.create_products(f"SOAK-{tag}", 20, STOCK)
    users = [api.register(f"soak{n}-{tag}@example.test", f"Customer {n}") for n in range(40)]
    api.close()
    mails = MailWatch(report["smtp"]["maildir"])
    memory_start = resident_memory(stack)

    if not args.find_max:
        step = _run_step(stack, report, users, skus, mails, args.rate, args.minutes)
        _print_step(step)
        _print_memory(memory_start, resident_memory(stack))
        why = step.why_not()
        return 0 if report_figure(
            f"soak at {args.rate:g} orders/s for {args.minutes:g} min",
            f"p99 commit->mail {_s(step.percentile(0.99))}", f"holds ({'; '.join(why) or 'yes'})",
            not why) else 1

    held = _find_max(args, lambda rate: _run_step(stack, report, users, skus, mails, rate,
                                                 args.step_minutes))
    _print_memory(memory_start, resident_memory(stack))
    return 0 if report_figure(
        "highest rate this machine holds", f"{held or 0:g} orders/s",
        f"one that holds (from {args.rate:g}/s)", bool(held)) else 1


def _find_max(args, run) -> float | None:
    """Up by 1.5x from --rate while a step holds; if --rate itself does not hold, down by 1.5x
    until one does (not below MIN_RATE). The highest rate that held, None if none did."""
    rate, held, failed = args.rate, None, None
    while MIN_RATE <= rate and (failed is None or rate < failed):
        step = run(rate)
        _print_step(step)
        why = step.why_not()
        if not why:
            held = rate
            if failed is not None:
                break  # coming down: the first rate that holds is the answer
            rate = round(rate * 1.5)
            continue
        print(f"  {rate:g} orders/s does not hold: {'; '.join(why)}")
        failed = rate
        if held is not None:
            break  # going up: the last rate that held is the answer
        rate = round(rate / 1.5, 1)
    return held


def _run_step(stack, report, users, skus, mails, rate: float, minutes: float) -> Step:
    from producer_django.shop.testing import OrderFlow, ShopApi

    step = Step(rate, minutes)
    print(f"\n{rate:g} orders/s for {minutes:g} min...", flush=True)
    flow = OrderFlow(lambda: ShopApi.of(report), users, skus, rate,
                     threads=max(4, int(rate // 8))).start()
    began = time.monotonic()
    end = began + minutes * 60
    while time.monotonic() < end:
        time.sleep(min(SAMPLE_S, max(0.0, end - time.monotonic())))
        _sample(stack, step)
        mails.poll()
        print(f"  {time.monotonic() - began:5.0f} s  orders {len(flow.placed):7}  "
              f"backlog {step.end_backlog:6}  max lag {max(step.end_lag.values(), default=0):7}",
              flush=True)
    flow.stop()
    step.asked, step.placed, step.failures = flow.asked, len(flow.placed), flow.failures
    # The last orders' mails: wait for them, bounded.
    wanted = {o.order_id for o in flow.placed}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not wanted <= set(mails.confirmations()):
        mails.poll()
        time.sleep(1)
    confirmations = mails.confirmations()
    for order in flow.placed:
        got = confirmations.get(order.order_id)
        if got:
            step.latencies.append(min(m.delivered_at for m in got) - order.committed_at)
        else:
            step.missing_mails += 1
    return step


def _sample(stack, step: Step) -> None:
    from confluent_kafka import KafkaException

    from deploy.console.cluster import Cluster, watched_groups
    from schemas.errors import PipelineError

    step.end_backlog = outbox_backlog(stack)
    step.max_backlog = max(step.max_backlog, step.end_backlog)
    with Cluster(stack.settings) as cluster:
        for group in watched_groups():
            try:
                lag = cluster.group(group, describe=False).lag
            except (PipelineError, KafkaException):  # a missed sample shows as -1
                lag = -1
            step.end_lag[group] = lag
            step.max_lag[group] = max(step.max_lag.get(group, 0), lag)


def outbox_backlog(stack) -> int:
    from producer_django.testing import query
    from schemas.config import LocalPaths, database_url, paths_from_env

    url = database_url(stack.settings, LocalPaths(str(stack.home), paths_from_env().cache))
    return query(url, "SELECT COUNT(*) FROM events_outbox WHERE published_at IS NULL")[0][0]


def resident_memory(stack) -> dict[str, int]:
    """component -> resident bytes of its process and every descendant."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out = {}
    for comp in stack.components():
        pid = stack.pid(comp.name)
        if pid:
            out[comp.name] = sum(_rss(p) for p in _tree(pid, children))
    return out


def _tree(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, ()))
    return found


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _print_step(step: Step) -> None:
    seconds = step.minutes * 60
    print(f"  orders accepted {step.placed} ({step.placed / seconds:.1f}/s of {step.rate:g}/s "
          f"asked), failed requests {len(step.failures)}, orders without a mail "
          f"{step.missing_mails}")
    print(f"  commit -> mail  p50 {_s(step.percentile(0.5))}  p99 {_s(step.percentile(0.99))}"
          f"  (bound {P99_BOUND_S:g} s)")
    print(f"  outbox backlog  max {step.max_backlog}  at the end {step.end_backlog}")
    print("  highest lag per group:")
    for group in sorted(step.max_lag):
        print(f"    {group:<28} max {step.max_lag[group]:>8}  at the end "
              f"{step.end_lag.get(group, -1):>8}")


def _print_memory(start: dict[str, int], end: dict[str, int]) -> None:
    print("\nresident memory (process and children), start -> end:")
    for name in sorted(set(start) | set(end)):
        print(f"  {name:<24} {start.get(name, 0) / 2**20:8.0f} MiB -> "
              f"{end.get(name, 0) / 2**20:8.0f} MiB")


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f} s"


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=50.0, help="orders per second")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--plaintext", action="store_true", help="without --secure")
    parser.add_argument("--postgres", action="store_true",
                        help="a throwaway PostgreSQL server instead of the home's SQLite file")
    parser.add_argument("--find-max", action="store_true",
                        help="step the rate from --rate to the highest that holds")
    parser.add_argument("--step-minutes", type=float, default=1.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
