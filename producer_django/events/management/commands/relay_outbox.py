"""`manage.py relay_outbox`: deliver outbox rows to Kafka until SIGTERM."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from producer_django.events.relay.runner import run_relay
from schemas.errors import PipelineError


class Command(BaseCommand):
    help = "Deliver pending outbox events to Kafka (stops cleanly on SIGTERM/SIGINT)."

    def add_arguments(self, parser):
        parser.add_argument("--heartbeat", type=Path, help="file touched on every loop pass")
        parser.add_argument(
            "--until-empty", action="store_true", help="exit once no row is pending"
        )
        parser.add_argument("--batch-size", type=int, help="override PIPELINE['BATCH_SIZE']")
        parser.add_argument("--metrics-port", type=int,
                            help="serve Prometheus metrics on this port")
        parser.add_argument("--metrics-host", default="127.0.0.1",
                            help="address of the metrics server (0.0.0.0 in a container)")

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        try:
            totals = run_relay(
                stop,
                heartbeat_path=options["heartbeat"],
                until_empty=options["until_empty"],
                batch_size=options["batch_size"],
                metrics_port=options["metrics_port"],
                metrics_host=options["metrics_host"],
            )
        except PipelineError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"relay stopped: {totals['delivered']} delivered, "
                          f"{totals['failed']} failed attempts")
