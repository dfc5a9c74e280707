"""`make soak --find-max`: which rates it tries and which it reports (fake steps, no stack)."""

from __future__ import annotations

from argparse import Namespace

from benchmarks.soak import Step, _find_max


def _search(start: float, holds_up_to: float) -> tuple[float | None, list[float]]:
    tried = []

    def run(rate):
        tried.append(rate)
        step = Step(rate, minutes=1)
        if rate <= holds_up_to:  # everything a holding step needs
            step.placed = int(rate * 60)
            step.latencies = [0.5]
        return step

    return _find_max(Namespace(rate=start), run), tried


def test_it_goes_up_while_a_rate_holds():
    assert _search(50, holds_up_to=120) == (112, [50, 75, 112, 168])


def test_it_comes_down_when_the_first_rate_does_not_hold():
    assert _search(50, holds_up_to=20) == (14.8, [50, 33.3, 22.2, 14.8])


def test_none_when_nothing_holds_down_to_the_floor():
    held, tried = _search(5, holds_up_to=0)
    assert held is None and tried == [5, 3.3, 2.2]
