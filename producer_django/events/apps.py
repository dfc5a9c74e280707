from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "producer_django.events"
    label = "events"
    verbose_name = "Event outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks
        from django.core.signals import setting_changed

        from producer_django.events import checks as event_checks
        from producer_django.events import conf

        checks.register(event_checks.check_settings, "events")
        checks.register(event_checks.check_middleware, "events")
        setting_changed.connect(conf.forget, dispatch_uid="events.conf.forget")
        checks.register(event_checks.check_database, checks.Tags.database)
