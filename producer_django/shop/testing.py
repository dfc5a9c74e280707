"""The shop's processes for tests and benchmarks, outside the stack: its own database, several
relays, kill -9, the shop's workload command."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

from deploy.runtime.ports import free_port
from producer_django.testing import query, wait_until


class ShopProcesses:
    """Set up a shop database and run its server, relays and workloads as real processes."""

    def __init__(self, settings, home: Path, pipeline: dict | None = None):
        from producer_django.stack import django_env

        self.settings = settings
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = django_env(settings, self.home)
        if pipeline:
            self.env["SHOP_PIPELINE_JSON"] = json.dumps(pipeline)
        self.db_url = self.env["DATABASE_URL"]
        self.pids: list[int] = []
        self.server = None

    def setup(self) -> None:
        from producer_django.stack import DjangoServer

        self.server = DjangoServer(self.settings, self.home, port=free_port())
        self._manage_run("pipeline_setup", "--token-file", str(self.server.token_file),
                         "--password-file", str(self.server.password_file))

    def start_server(self) -> int:
        from deploy.runtime import process

        spec = self.server.process()
        spec = dataclasses.replace(spec, env={**spec.env, **self.env})
        pid = process.spawn(spec)
        self.pids.append(pid)
        if not wait_until(self.server.healthy, 60):
            raise RuntimeError(f"shop server did not start; see {self.server.log}")
        return pid

    def start_relay(self, name: str = "relay") -> int:
        from deploy.runtime import process
        from producer_django.stack import manage_argv

        spec = process.ProcessSpec(
            argv=manage_argv("relay_outbox"), log=self.home / f"{name}.log", env=self.env
        )
        pid = process.spawn(spec)
        self.pids.append(pid)
        return pid

    def workload(self, *args: str, log_name: str = "workload") -> subprocess.Popen:
        from producer_django.stack import manage_argv

        log = open(self.home / f"{log_name}.log", "ab")
        proc = subprocess.Popen(
            manage_argv("shop_workload", *args), stdout=subprocess.PIPE, stderr=log,
            env={**os.environ, **self.env}, text=True,
        )
        log.close()
        return proc

    def kill9(self, pid: int) -> None:
        from deploy.runtime import process

        process.kill9(pid)

    def stop(self, pid: int) -> None:
        from deploy.runtime import process

        process.stop(pid)

    def close(self) -> None:
        for pid in self.pids:
            self.stop(pid)

    def pending(self) -> int:
        sql = "SELECT COUNT(*) FROM events_outbox WHERE published_at IS NULL"
        return query(self.db_url, sql)[0][0]

    def committed_ids(self, topic: str, aggregate_prefix: str) -> dict[str, tuple[str, int]]:
        """event_id -> (aggregate_id, version) of every committed outbox row on `topic`."""
        rows = query(
            self.db_url,
            "SELECT payload, aggregate_id, aggregate_version FROM events_outbox "
            "WHERE topic = %s AND aggregate_id LIKE %s",
            (topic, aggregate_prefix + "%"),
        )
        out = {}
        for payload, agg, version in rows:
            data = json.loads(payload) if isinstance(payload, str) else payload
            out[data["event_id"]] = (agg, version)
        return out

    def _manage_run(self, *args: str) -> None:
        from producer_django.stack import manage_argv

        done = subprocess.run(manage_argv(*args), env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
