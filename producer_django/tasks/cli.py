"""`pipeline scheduler`: enqueue the project's periodic tasks (any number of copies)."""

from __future__ import annotations

from pathlib import Path

from schemas.errors import PipelineError


def add_commands(subparsers) -> None:
    scheduler = subparsers.add_parser(
        "scheduler", help="enqueue the periodic tasks of [tool.event-pipeline.schedule] "
                          "(run any number of copies: each tick is enqueued once)"
    )
    scheduler.add_argument("--heartbeat", default=None,
                           help="a file touched on every pass (for health checks)")
    scheduler.set_defaults(func=cmd_scheduler)


def cmd_scheduler(args) -> int:
    import logging
    import signal
    import threading

    from schemas import project as projects

    logging.getLogger("producer_django.tasks").setLevel(
        logging.DEBUG if getattr(args, "verbose", False) else logging.INFO)
    project = projects.current()
    if not project.schedule:
        raise PipelineError(
            f"{project.source} declares no periodic tasks; add entries under "
            f"[{projects.TABLE}.schedule], e.g. nightly = {{ task = \"app.tasks.report\", "
            "cron = \"0 3 * * *\" }"
        )
    setup_django(project)
    from producer_django.tasks import discovery
    from producer_django.tasks.scheduler import Scheduler

    discovery.load(project)  # to know each task's queue
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler = Scheduler(project, heartbeat=Path(args.heartbeat) if args.heartbeat else None)
    scheduler.run(stop)
    print(f"scheduler stopped: {scheduler.enqueued} ticks enqueued by this copy")
    return 0


def setup_django(project) -> None:
    """Django with the project's settings (the scheduler writes the outbox through it)."""
    import os

    import django
    from django.conf import settings

    if settings.configured:
        return
    project.activate()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", project.django_settings)
    django.setup()
