from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "producer_django.shop.accounts"
    label = "accounts"
