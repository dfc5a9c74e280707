from django.contrib import admin

from producer_django.shop.inventory.models import StockLevel


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ("product", "on_hand")
    search_fields = ("product__sku",)

    def has_change_permission(self, request, obj=None):
        # Adjust through POST /api/inventory/<sku>/adjust/ so that StockAdjusted is published.
        return False

    def has_add_permission(self, request):
        return False
