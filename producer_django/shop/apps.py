from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "producer_django.shop"
    label = "shop"
    verbose_name = "Shop project"
