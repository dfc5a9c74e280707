from django.db import IntegrityError, transaction

from producer_django.events.publish import publish
from producer_django.shop.cache import forget_on_commit, product_key
from producer_django.shop.catalog.models import Product
from producer_django.shop.errors import Conflict
from producer_django.shop.inventory.models import StockLevel


def create_product(sku: str, name: str, price_cents: int, stock: int) -> Product:
    try:
        with transaction.atomic():
            product = Product.objects.create(sku=sku, name=name, price_cents=price_cents)
            StockLevel.objects.create(product=product, on_hand=stock)
            publish(
                "ProductCreated",
                {"sku": sku, "name": name, "price_cents": price_cents, "stock": stock},
            )
            forget_on_commit(product_key(sku))
    except IntegrityError as exc:
        raise Conflict(f"product {sku!r} already exists") from exc
    return product


def change_price(sku: str, new_price_cents: int) -> Product:
    with transaction.atomic():
        product = Product.objects.select_for_update().get(sku=sku)
        old = product.price_cents
        if old == new_price_cents:
            return product
        product.price_cents = new_price_cents
        product.save(update_fields=["price_cents"])
        publish(
            "ProductPriceChanged",
            {"sku": sku, "old_price_cents": old, "new_price_cents": new_price_cents},
        )
        forget_on_commit(product_key(sku))
    return product


def product_view(sku: str) -> dict | None:
    """The JSON body of GET /api/products/<sku>/, or None."""
    row = (
        Product.objects.filter(sku=sku)
        .values("sku", "name", "price_cents", "stock__on_hand")
        .first()
    )
    if row is None:
        return None
    return {
        "sku": row["sku"],
        "name": row["name"],
        "price_cents": row["price_cents"],
        "stock": row["stock__on_hand"],
    }
