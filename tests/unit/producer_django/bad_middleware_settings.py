"""The shop's settings with the correlation middleware under the path older docs showed."""

from producer_django.shop.settings import *  # noqa: F403
from producer_django.shop.settings import MIDDLEWARE

MIDDLEWARE = [*MIDDLEWARE[:-1], "events.context.CorrelationMiddleware"]
