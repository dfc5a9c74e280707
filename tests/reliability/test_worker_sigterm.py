"""SIGTERM during a batch: the worker finishes the batch, commits and exits; after a restart
no record is delivered again."""

from __future__ import annotations

import ast
import os
import signal
import sys
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from consumers.db import Database
from consumers.inbox import Inbox
from consumers.shop.testing import notification
from consumers.testing import publish, wait_until
from deploy.runtime import process
from deploy.runtime.ports import free_port
from deploy.runtime.process import ProcessSpec
from schemas.serde import EventSerializer

EVENTS = 1500


def _mails(maildir: Path) -> int:
    return len(os.listdir(maildir / "new")) if (maildir / "new").exists() else 0


def _committed(settings, group: str, topic: str) -> int:
    consumer = Consumer(settings.kafka_conf(**{"group.id": group}))
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in tps)


def _final_counts(log: Path) -> dict:
    lines = [ln for ln in log.read_text().splitlines() if "stopped: {" in ln]
    return ast.literal_eval(lines[-1].split("stopped: ", 1)[1])


def test_sigterm_mid_batch_commits_and_nothing_is_redelivered(
    settings, registry_client, make_topic, unique, tmp_path
):
    topic = make_topic("notify-term")
    group = f"notify-term-{unique}"
    maildir = tmp_path / "Maildir"
    smtp_port = free_port()
    home = tmp_path / "home"
    smtp = process.spawn(ProcessSpec(
        argv=[sys.executable, "-m", "consumers.smtp_server", "--port", str(smtp_port),
              "--maildir", str(maildir)],
        log=tmp_path / "smtp.log",
    ))
    publish(settings, EventSerializer(registry_client), topic, "NotificationRequested",
            [notification(i) for i in range(EVENTS)], key_field="user_id")

    def spec(log: str) -> ProcessSpec:
        return ProcessSpec(
            argv=[sys.executable, "-m", "deploy.cli", "worker", "notifications", "--group",
                  group, "--topics", topic, "--smtp-port", str(smtp_port), "--batch-size", "500"],
            log=tmp_path / log,
            env={"PIPELINE_HOME": str(home),
                 "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
                 "SCHEMA_REGISTRY_URL": settings.schema_registry_url},
        )

    worker = None
    try:
        worker = process.spawn(spec("first.log"))
        wait_until(lambda: _mails(maildir) >= 100, 60, interval_s=0.02, what="100 mails sent")
        process.signal_group(worker, signal.SIGTERM)
        wait_until(lambda: not process.alive(worker), 30, what="the worker to exit on SIGTERM")
        sent = _mails(maildir)
        assert sent < EVENTS, "the worker finished before SIGTERM; nothing was tested"
        inbox = Inbox(Database(f"sqlite:///{home / 'pipeline.sqlite3'}"), group)
        assert inbox.count() == sent
        assert _committed(settings, group, topic) == sent
        first = _final_counts(tmp_path / "first.log")
        assert first.get("handled") == sent

        worker = process.spawn(spec("second.log"))
        wait_until(lambda: _mails(maildir) >= EVENTS, 90, what=f"{EVENTS} mails")
        process.stop(worker, timeout_s=30)
        second = _final_counts(tmp_path / "second.log")
    finally:
        process.kill9(worker)
        process.stop(smtp)
    assert second == {"handled": EVENTS - sent}, "records were delivered again after restart"
    assert _mails(maildir) == EVENTS
