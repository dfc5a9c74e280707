from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "producer_django.catalog"
    label = "catalog"
