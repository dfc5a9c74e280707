"""Reprocessing into a fresh group: the same effects as the original run, no mail sent twice.

Real broker, registry, SQLite database, the notifications worker and the local SMTP server.
"""

from __future__ import annotations

import mailbox

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient
from conftest import make_event

from consumers.db import Database
from consumers.options import WorkerOptions
from consumers.replay.errors import ReplayError
from consumers.replay.reprocess import reprocess
from consumers.runtime import run_worker
from consumers.smtp_server import MaildirServer
from deploy.cli import main
from deploy.runtime.ports import free_port

pytestmark = pytest.mark.integration


def _notification(i: int) -> dict:
    return make_event("NotificationRequested", user_id=f"u-{i}", recipient=f"u{i}@example.com",
                      template="welcome", params={"name": f"Name {i}"})


def _message_ids(maildir) -> list[str]:
    return [msg["Message-ID"] for msg in mailbox.Maildir(maildir, create=False)]


def _committed(settings, group: str) -> dict:
    admin = AdminClient(settings.kafka_conf())
    future = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
    return {(tp.topic, tp.partition): tp.offset for tp in future.result(10).topic_partitions}


def _inbox(url: str, group: str) -> set[str]:
    db = Database(url)
    db.connect()
    try:
        rows = db.fetchall("SELECT event_id FROM consumer_inbox WHERE consumer_group = %s",
                           (group,))
    finally:
        db.close()
    return {row[0] for row in rows}


def test_reprocessing_into_a_fresh_group_sends_no_mail_twice(
    settings, make_topic, producer, unique, tmp_path, monkeypatch, capsys
):
    topic = make_topic("replay-notify", partitions=3)
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    port = free_port()
    options = WorkerOptions(retry_delays_s=())
    live = f"live-{unique}"
    first = [_notification(i) for i in range(12)]
    producer.send_all(topic, [("NotificationRequested", e, i % 3, None)
                              for i, e in enumerate(first)])

    from consumers import django_setup
    from schemas import project

    # The handler sends through the project's Django e-mail settings, read when it connects.
    django_setup.use_project_settings(project.current())
    from django.test import override_settings

    with MaildirServer(tmp_path / "maildir", port=port), override_settings(EMAIL_PORT=port):
        # The original run: the live group handles the 12 events, 12 mails.
        original = run_worker("notifications", settings, group_id=live, topics=[topic],
                              stop_at_offsets={(topic, p): 4 for p in range(3)},
                              options=options, database_url=url)
        assert original.counts.get("handled") == 12
        sent = _message_ids(tmp_path / "maildir")
        assert len(sent) == 12
        live_offsets = _committed(settings, live)

        # Reprocess the same range into a fresh group: same inbox, no new mail.
        again = reprocess(settings, topic, f"fresh-{unique}", worker="notifications",
                          live_group=live, options=options, db_url=url)
        assert again.records_in_range == 12 and again.seeded == 12
        assert again.counts.get("handled", 0) == 0 and again.counts.get("duplicate") == 12
        assert sorted(_message_ids(tmp_path / "maildir")) == sorted(sent)
        assert _inbox(url, f"fresh-{unique}") == _inbox(url, live) == {e["event_id"] for e in first}
        assert _committed(settings, f"fresh-{unique}") == {(topic, p): 4 for p in range(3)}

        # Three events the live group never saw: a reprocess through the CLI mails them once.
        later = [_notification(100 + i) for i in range(3)]
        producer.send_all(topic, [("NotificationRequested", e, i, None)
                                  for i, e in enumerate(later)])
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
        monkeypatch.setenv("SCHEMA_REGISTRY_URL", settings.schema_registry_url)
        monkeypatch.setenv("DATABASE_URL", url)
        code = main(["replay", topic, "--into-group", f"fresh2-{unique}", "--worker",
                     "notifications", "--live-group", live, "--worker-option",
                     "batch_size=100"])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert "reprocessed 15 offsets" in out and f"group {live} untouched" in out
        ids = _message_ids(tmp_path / "maildir")
        assert len(ids) == 15 and len(set(ids)) == 15
        assert _committed(settings, live) == live_offsets

        # A group that already exists is refused: --into-group means a fresh one.
        with pytest.raises(ReplayError, match="needs a fresh group name"):
            reprocess(settings, topic, f"fresh-{unique}",
                      worker="notifications", live_group=live, options=options, db_url=url)
