"""The shop's notifications handler: its own options, mail through Django's e-mail settings
to a real SMTP server on loopback (no broker)."""

from __future__ import annotations

from django.test import override_settings

from consumers import django_setup
from consumers.handlers import make_handler
from consumers.shop.notifications import NotificationSender
from consumers.shop.testing import notification
from consumers.smtp_server import MaildirServer
from consumers.testing import message_ids, run_handler
from deploy.runtime.ports import free_port
from schemas import project as projects


def test_declared_options_reach_the_handler(tmp_path):
    shop = projects.current()
    spec = projects.WorkerSpec("notifications", shop.workers["notifications"].handler,
                               {"mail_from": "ops@example.test", "message_id_domain": "ex.test"})
    custom = projects.Project(root=shop.root, source=shop.source, workers={"notifications": spec})
    handler = make_handler("notifications", custom)
    assert (handler.mail_from, handler.message_id_domain) == ("ops@example.test", "ex.test")


def test_mail_goes_through_the_django_email_settings(tmp_path):
    django_setup.use_project_settings(projects.current())
    port = free_port()
    event = {"event_type": "NotificationRequested", **notification(7, "welcome")}
    with MaildirServer(tmp_path / "Maildir", port=port), \
            override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=port):
        run = run_handler(NotificationSender(mail_from="ops@example.test",
                                             message_id_domain="ex.test"), [event])
    assert run.failures == [] and run.handled == [event["event_id"]]
    assert message_ids(tmp_path / "Maildir") == {f"<{event['event_id']}@ex.test>": 1}
    mail = (tmp_path / "Maildir" / "new").iterdir().__next__().read_text()
    assert "From: ops@example.test" in mail
