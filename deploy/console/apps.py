from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "deploy.console"
    label = "console"
    verbose_name = "Operations console"
    default_auto_field = "django.db.models.BigAutoField"
