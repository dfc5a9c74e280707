import threading

from producer_django.events.relay.lock import ClaimLock


def test_second_claimer_waits_until_the_first_releases(tmp_path):
    path = str(tmp_path / "db.relay.lock")
    first, second = ClaimLock(path), ClaimLock(path)
    assert first.acquire(threading.Event())
    stop = threading.Event()
    got = []
    waiter = threading.Thread(target=lambda: got.append(second.acquire(stop, poll_s=0.05)),
                              daemon=True)
    waiter.start()
    try:
        waiter.join(0.3)
        assert waiter.is_alive() and not got
        first.release()
        waiter.join(5)
        assert got == [True]
        second.release()
    finally:
        stop.set()


def test_stop_ends_the_wait(tmp_path):
    path = str(tmp_path / "db.relay.lock")
    holder = ClaimLock(path)
    assert holder.acquire(threading.Event())
    stop = threading.Event()
    stop.set()
    assert ClaimLock(path).acquire(stop) is False
    holder.release()
