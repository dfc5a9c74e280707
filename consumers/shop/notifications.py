"""NotificationRequested -> an e-mail over SMTP, with a Message-ID derived from the event id.

Sent through the project's Django e-mail settings (EMAIL_HOST, EMAIL_PORT, EMAIL_BACKEND); the
local stack points them at its SMTP server. Not transactional: the runtime records the event
id in the inbox right after the SMTP server accepts the mail (see README "Delivery guarantee of
notification e-mails").

Options (`[tool.event-pipeline.workers.notifications] options = {...}`): `mail_from`,
`message_id_domain`, `timeout_s`.
"""

from __future__ import annotations

import logging

from consumers.message import Event
from consumers.shop import mail

logger = logging.getLogger(__name__)


class NotificationSender:
    name = "notifications"
    topics = ("shop.notifications",)
    transactional = False

    def __init__(self, *, mail_from: str = "shop@event-pipeline.local",
                 message_id_domain: str = "event-pipeline.local", timeout_s: float = 10.0):
        self.mail_from = mail_from
        self.message_id_domain = message_id_domain
        self.timeout_s = float(timeout_s)
        self._connection = None

    def open(self, context) -> None:
        """Nothing to prepare: the SMTP connection opens with the first mail."""

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
            from_email=self.mail_from,
            to=[data["recipient"]],
            headers={
                "Message-ID": mail.message_id(event.event_id, self.message_id_domain),
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
            from django.conf import settings

            raise ConnectionError(
                f"SMTP server {settings.EMAIL_HOST}:{settings.EMAIL_PORT} did not accept the "
                "message"
            )

    def _smtp(self):
        if self._connection is None:
            from django.core.mail import get_connection

            # Host, port and credentials from the Django settings, read now (not at import).
            self._connection = get_connection(timeout=self.timeout_s, fail_silently=False)
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
