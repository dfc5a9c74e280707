"""Workers of one process opening a fresh SQLite file at once all get a WAL connection.

Switching a file to WAL needs a lock that SQLite refuses at once ("database is locked")
instead of waiting out the busy timeout; the lineage indexer's two groups hit it on start.
"""

from __future__ import annotations

import threading

from consumers.db import Database


def test_connections_opening_a_new_file_together_all_succeed(tmp_path):
    errors: list[BaseException] = []
    for round_ in range(20):
        url = f"sqlite:///{tmp_path / f'fresh-{round_}.sqlite3'}"
        start = threading.Barrier(4)

        def open_one(url=url, start=start):
            database = Database(url)
            try:
                start.wait(10)
                database.connect()
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)
            finally:
                database.close()

        threads = [threading.Thread(target=open_one) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert Database(f"sqlite:///{tmp_path / 'fresh-0.sqlite3'}").fetchall(
        "PRAGMA journal_mode") == [("wal",)]
