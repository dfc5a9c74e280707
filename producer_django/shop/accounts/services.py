from django.db import IntegrityError, transaction

from producer_django.events.publish import publish
from producer_django.shop.accounts.models import Customer
from producer_django.shop.errors import Conflict


def register(email: str, name: str) -> Customer:
    """A new customer and its UserRegistered event; Conflict when the e-mail (in any case) is
    taken."""
    try:
        with transaction.atomic():
            customer = Customer.objects.create(email=email, name=name)
            publish(
                "UserRegistered",
                {"user_id": str(customer.id), "email": customer.email, "name": customer.name},
            )
    except IntegrityError as exc:
        raise Conflict(f"email: a user with email {email!r} already exists") from exc
    return customer
