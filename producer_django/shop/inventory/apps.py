from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "producer_django.shop.inventory"
    label = "inventory"
