"""One `up` or `down` at a time per home: the fcntl lock in the home."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from deploy.runtime.lock import HomeLock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from deploy.runtime.lock import HomeLock

    lock = HomeLock(Path(sys.argv[1]))
    with lock.held():
        print("held", flush=True)
        sys.stdin.readline()  # hold until told to let go
    """
)


def _holder(path):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_waits_for_the_first_and_names_it(tmp_path):
    path = tmp_path / "stack.lock"
    first = _holder(path)
    waited_for = []
    lock = HomeLock(path)

    def on_wait(holder):
        waited_for.append(holder)
        first.stdin.write("\n")  # let the first one go, now that we wait
        first.stdin.flush()

    with lock.held(on_wait=on_wait):
        assert first.wait(timeout=30) == 0  # we got the lock only after it let go
        assert lock.holding
    assert waited_for == [first.pid]
    assert not lock.holding


def test_a_killed_holder_leaves_the_home_unlocked(tmp_path):
    path = tmp_path / "stack.lock"
    first = _holder(path)
    first.kill()
    first.wait(timeout=30)
    with HomeLock(path).held():
        pass


def test_the_lock_is_reentrant_within_one_process(tmp_path):
    lock = HomeLock(tmp_path / "stack.lock")
    with lock.held():
        with lock.held():
            assert lock.holding
        assert lock.holding
    assert not lock.holding
