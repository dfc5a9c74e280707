from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "producer_django.events"
    label = "events"
    verbose_name = "Event outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from producer_django.events import checks as event_checks

        checks.register(event_checks.check_settings, "events")
        checks.register(event_checks.check_database, checks.Tags.database)
