"""NotificationRequested -> an e-mail over SMTP, with a Message-ID derived from the event id.

Not transactional: the runtime records the event id in the inbox right after the SMTP server
accepts the mail (see README "Delivery guarantee of notification e-mails").
"""

from __future__ import annotations

import logging

from consumers import django_setup
from consumers.shop import mail
from consumers.message import Event

logger = logging.getLogger(__name__)


class NotificationSender:
    name = "notifications"
    topics = ("shop.notifications",)
    transactional = False

    def __init__(self):
        self._options = None
        self._connection = None

    def open(self, context) -> None:
        django_setup.configure(context.database)
        self._options = context.options

    def handle(self, event: Event, tx=None) -> None:
        if event.event_type != "NotificationRequested":
            logger.debug("ignoring %s on %s", event.event_type, self.topics)
            return
        from django.core.mail import EmailMessage

        data = event.data
        subject, body = mail.render(data["template"], dict(data["params"]))
        message = EmailMessage(
            subject=subject,
            body=body,
            from_email=self._options.mail_from,
            to=[data["recipient"]],
            headers={
                "Message-ID": mail.message_id(event.event_id, self._options.message_id_domain),
                "X-Event-Id": event.event_id,
                "X-Correlation-Id": str(data["correlation_id"]),
                "X-Notification-Template": data["template"],
            },
        )
        connection = self._smtp()
        try:
            sent = connection.send_messages([message])
        except Exception:
            # The connection may be half-broken; the next attempt opens a fresh one.
            self._drop_connection()
            raise
        if sent != 1:
            self._drop_connection()
            raise ConnectionError(
                f"SMTP server {self._options.smtp_host}:{self._options.smtp_port} did not "
                "accept the message"
            )

    def _smtp(self):
        if self._connection is None:
            from django.core.mail import get_connection

            self._connection = get_connection(
                "django.core.mail.backends.smtp.EmailBackend",
                host=self._options.smtp_host,
                port=self._options.smtp_port,
                username="",
                password="",
                use_tls=False,
                use_ssl=False,
                timeout=self._options.smtp_timeout_s,
                fail_silently=False,
            )
            self._connection.open()
        return self._connection

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError as exc:
                logger.debug("closing a broken SMTP connection: %s", exc)

    def close(self) -> None:
        self._drop_connection()
