"""Django configured standalone inside a worker process (templates, mail, the shop cache).

Called from a handler's `open()`, never at import. If the process already has Django settings
(e.g. a test process of the web app), they are kept: the handlers build their own template
engine and SMTP connection and need only the cache and database settings.
"""

from __future__ import annotations

import django
from django.conf import settings

from consumers.db import Database
from schemas.config import SHOP_CACHE


def configure(database: Database) -> None:
    if settings.configured:
        return
    settings.configure(
        DATABASES={"default": database.django_database()},
        CACHES={"default": dict(SHOP_CACHE)},
        INSTALLED_APPS=[],
        USE_TZ=True,
        TIME_ZONE="UTC",
        # Mail goes through connections the notification handler builds explicitly.
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    )
    django.setup()
