import uuid

from django.db import models
from django.db.models.functions import Lower


class Customer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # The API stores addresses lower-cased; this also holds for rows made elsewhere.
            models.UniqueConstraint(Lower("email"), name="accounts_customer_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
