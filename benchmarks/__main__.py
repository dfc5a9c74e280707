"""`python -m benchmarks` (`make bench`): run every `bench_*` module in turn with its defaults,
then print one table of every figure with its target and write it to benchmarks/RESULTS.md.

    python -m benchmarks [bench_worker bench_e2e ...]   (only those modules: their rows of
                                                          RESULTS.md are replaced, the rest kept)
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import benchmarks
from benchmarks.common import FIGURES, results_page, results_table

RESULTS = Path(benchmarks.__file__).parent / "RESULTS.md"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    every = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)
                   if m.name.startswith("bench_"))
    unknown = sorted(set(argv) - set(every))
    if unknown:
        print(f"unknown benchmarks {unknown}; known: {', '.join(every)}", file=sys.stderr)
        return 2
    failed = []
    for module in argv or every:
        print(f"\n== {module} ==", flush=True)
        try:
            code = importlib.import_module(f"benchmarks.{module}").main([])
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            print(f"{module} failed: {type(exc).__name__}: {exc}", flush=True)
            code = 1
        if code != 0:
            failed.append(module)
    print("\n" + results_table(FIGURES))
    command = "python -m benchmarks" + "".join(f" {m}" for m in argv)
    # Only a run of some of the benchmarks keeps rows of the page so far.
    previous = RESULTS.read_text() if argv and RESULTS.exists() else ""
    RESULTS.write_text(results_page(FIGURES, command, previous))
    print(f"\nwritten to {RESULTS.name}; below target: " + (", ".join(failed) or "none"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
