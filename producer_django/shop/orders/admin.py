from django.contrib import admin

from producer_django.shop.orders.models import Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ("product", "quantity", "unit_price_cents")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "status", "total_cents", "created_at")
    list_filter = ("status",)
    search_fields = ("id", "customer__email")
    inlines = [OrderLineInline]

    def has_change_permission(self, request, obj=None):
        # State changes go through the API so that their events are published.
        return False

    def has_add_permission(self, request):
        return False
