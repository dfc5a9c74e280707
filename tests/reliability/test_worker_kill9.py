"""kill -9 a notifications worker again and again while thousands of notifications flow.

Every event must produce a mail (distinct Message-IDs = events: 0 lost), and the mails beyond
that are bounded by the number of kills (a kill between SMTP acceptance and the inbox record).
"""

from __future__ import annotations

import os
import random
import sys
import threading
from pathlib import Path

from consumers.shop.testing import notification
from consumers.testing import message_ids, publish, wait_until
from deploy.runtime import process
from deploy.runtime.ports import free_port
from deploy.runtime.process import ProcessSpec
from schemas.serde import EventSerializer

EVENTS = 3000
KILLS = 5


def _mail_files(maildir: Path) -> int:
    return sum(len(os.listdir(maildir / sub)) for sub in ("new", "cur") if (maildir / sub).exists())


def test_kill9_loses_no_mail_and_duplicates_at_most_one_per_kill(
    settings, registry_client, make_topic, unique, tmp_path
):
    topic = make_topic("notify-kill9", partitions=3)
    group = f"notify-kill9-{unique}"
    maildir = tmp_path / "Maildir"
    smtp_port = free_port()
    smtp = process.spawn(ProcessSpec(
        argv=[sys.executable, "-m", "consumers.smtp_server", "--port", str(smtp_port),
              "--maildir", str(maildir)],
        log=tmp_path / "smtp.log",
    ))
    worker_spec = ProcessSpec(
        argv=[sys.executable, "-m", "deploy.cli", "worker", "notifications", "--group", group,
              "--topics", topic, "--smtp-port", str(smtp_port), "--instance-id", f"{group}-1",
              "--retry-delays", "1,2"],
        log=tmp_path / "worker.log",
        env={
            "PIPELINE_HOME": str(tmp_path / "home"),
            "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
            "SCHEMA_REGISTRY_URL": settings.schema_registry_url,
        },
    )
    events = [notification(i, "order_confirmation") for i in range(EVENTS)]
    serializer = EventSerializer(registry_client)
    rng = random.Random(5)

    def _produce_steadily():
        for start in range(0, EVENTS, 100):
            publish(settings, serializer, topic, "NotificationRequested",
                    events[start:start + 100], key_field="user_id")
            threading.Event().wait(0.25)

    producer = threading.Thread(target=_produce_steadily, daemon=True)
    producer.start()
    worker = None
    kills = 0
    try:
        wait_until(lambda: process.alive(smtp) and maildir.exists(), 30, what="the SMTP server")
        for _ in range(KILLS):
            before = _mail_files(maildir)
            worker = process.spawn(worker_spec)
            # Kill while it is sending: after it has delivered some mails of this run.
            target = before + rng.randint(50, 250)
            wait_until(lambda t=target: _mail_files(maildir) >= t, 60,
                       what=f"worker to deliver up to {target} mails", interval_s=0.02)
            process.kill9(worker)
            kills += 1
        producer.join(120)
        assert not producer.is_alive(), "producer did not finish"
        worker = process.spawn(worker_spec)
        wait_until(lambda: _mail_files(maildir) >= EVENTS, 120,
                   what=f"{EVENTS} mails in the Maildir")
        # Let any redelivery after the last kill settle before counting.
        threading.Event().wait(3)
        process.stop(worker, timeout_s=30)
        assert not process.alive(worker), "worker ignored SIGTERM"
    finally:
        process.kill9(worker)
        process.stop(smtp)
        producer.join(5)

    counts = message_ids(maildir)
    expected = {f"<{e['event_id']}@event-pipeline.local>" for e in events}
    total = sum(counts.values())
    extra = total - len(expected)
    print(f"\nkill -9 x{kills}: {len(expected)} events, {len(counts)} distinct Message-IDs, "
          f"{total} mails, {extra} duplicates")
    assert set(counts) == expected, "lost or unexpected mails"
    assert extra <= kills
