from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "producer_django.shop.orders"
    label = "orders"
