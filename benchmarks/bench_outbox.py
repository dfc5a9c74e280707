"""The cost of the outbox row: a shop transaction with its event vs the same without it.

    python -m benchmarks.bench_outbox [--events 2000] [--rounds 5] [--no-postgres]

Side by side in one run, on SQLite (and a throwaway PostgreSQL when its binaries are present):

    ORM   inventory.adjust(): lock the stock row, update it, publish StockAdjusted
          (Avro validation, version upsert, outbox insert), commit
          vs the same call with `publish` replaced by a no-op
    API   POST /api/inventory/<sku>/adjust/ through Django's test client (DRF, token auth)
          vs the same request with `publish` replaced by a no-op

Target: ratio >= 0.8. No broker is needed: publishing only writes the outbox row.
Django is configured once per process, so each database runs in a child process.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks.common import ChildFailed, report, run_shop_child, side_by_side

TARGET = 0.8
SKUS = 50


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        return _child(args)
    ok = True
    databases = ["sqlite"]
    if not args.no_postgres:
        databases.append("postgres")
    for db in databases:
        try:
            results = run_shop_child(
                "benchmarks.bench_outbox", db,
                ["--events", str(args.events), "--rounds", str(args.rounds)], timeout_s=1800,
                # One user makes every request: the per-user write throttle would measure itself.
                env={"DJANGO_WRITE_THROTTLE_RATE": "off"},
            )
        except ChildFailed as exc:
            print(exc)
            return 1
        if results is not None:
            for level in ("orm", "api"):
                ours, base = results[level]
                ok &= report(f"outbox {level.upper()} txn ({db}) vs no outbox", ours, base, TARGET)
    return 0 if ok else 1


def _child(args) -> int:
    import itertools

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from producer_django.shop.catalog import services as catalog
    from producer_django.shop.inventory import services as inventory

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    skus = [f"B-{n}" for n in range(SKUS)]
    for sku in skus:
        catalog.create_product(sku, sku, 100, 1_000_000)
    real_publish = inventory.publish
    counter = itertools.count()

    def orm(with_outbox: bool):
        def run() -> int:
            inventory.publish = real_publish if with_outbox else (lambda *a, **k: None)
            for _ in range(args.events):
                inventory.adjust(skus[next(counter) % SKUS], 1, "bench")
            return args.events
        return run

    user = get_user_model().objects.create_user("bench")
    client = APIClient()
    client.force_authenticate(user)

    def api(with_outbox: bool):
        def run() -> int:
            inventory.publish = real_publish if with_outbox else (lambda *a, **k: None)
            n = args.events // 2
            for _ in range(n):
                sku = skus[next(counter) % SKUS]
                r = client.post(f"/api/inventory/{sku}/adjust/", {"delta": 1, "reason": "b"},
                                format="json")
                assert r.status_code == 200, r.content
            return n
        return run

    orm(True)()  # warm up both paths (schema parsing, statement caches)
    orm(False)()
    results = {
        "orm": side_by_side(orm(True), orm(False), rounds=args.rounds),
        "api": side_by_side(api(True), api(False), rounds=args.rounds),
    }
    print(json.dumps(results))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench_outbox", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser


if __name__ == "__main__":
    sys.exit(main())
