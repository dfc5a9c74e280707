from django.contrib import admin

from producer_django.shop.catalog.models import Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "price_cents", "created_at")
    search_fields = ("sku", "name")

    def has_change_permission(self, request, obj=None):
        # Changes must go through the API so that their events are published.
        return False

    def has_add_permission(self, request):
        return False
