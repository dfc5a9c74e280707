"""Run in a subprocess by test_outbox_admin: render the outbox admin page as the dev user."""

import json

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

client = Client()
client.force_login(get_user_model().objects.get(username="dev"))
page = client.get("/admin/events/outboxevent/")
failing = client.get("/admin/events/outboxevent/?status=failing")
print(json.dumps({"status": page.status_code, "failing_status": failing.status_code,
                  "body": page.content.decode()}))
