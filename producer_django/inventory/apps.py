from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "producer_django.inventory"
    label = "inventory"
