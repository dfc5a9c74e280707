"""`manage.py outbox_status`: backlog, oldest pending age and failures of the outbox."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from producer_django.events.health import outbox_stats


class Command(BaseCommand):
    help = "Show the outbox backlog, the oldest pending event's age and failing rows."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        stats = outbox_stats()
        if options["json"]:
            self.stdout.write(json.dumps(stats.as_dict()))
            return
        age = stats.oldest_pending_age_s
        self.stdout.write(f"pending  {stats.backlog}")
        self.stdout.write(f"oldest   {'-' if age is None else f'{age:.1f}s'}")
        self.stdout.write(f"failing  {stats.failing}")
        if stats.last_error:
            self.stdout.write(f"last error: {stats.last_error}")
