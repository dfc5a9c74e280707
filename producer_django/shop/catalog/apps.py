from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "producer_django.shop.catalog"
    label = "catalog"
