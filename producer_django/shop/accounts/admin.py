from django.contrib import admin

from producer_django.shop.accounts.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "id", "created_at")
    search_fields = ("email", "name")
