"""`python -m benchmarks` (`make bench`): run every `bench_*` module in turn with its defaults."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def main() -> int:
    failed = []
    for module in sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)):
        if not module.startswith("bench_"):
            continue
        print(f"\n== {module} ==", flush=True)
        if importlib.import_module(f"benchmarks.{module}").main([]) != 0:
            failed.append(module)
    print("\nbelow target: " + (", ".join(failed) if failed else "none"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
