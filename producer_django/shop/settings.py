"""Settings of the shop project.

Connections come from `schemas.config` (KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL,
DATABASE_URL, PIPELINE_HOME), the one place that reads the pipeline's environment; the web
server's (DJANGO_DEBUG, DJANGO_SECRET_KEY[_FILE], DJANGO_ALLOWED_HOSTS, DJANGO_HTTPS, the write
rate and the body limit) come from `producer_django.web.conf`. Only SHOP_PIPELINE_JSON and
EMAIL_HOST/EMAIL_PORT (which the local stack sets to its SMTP server) are read here.
"""

import json
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from producer_django.dburl import database_config
from producer_django.web.conf import WebSettings
from schemas.config import database_url, from_env, paths_from_env

_connections = from_env()
_paths = paths_from_env()


def _pipeline_overrides() -> dict:
    raw = os.environ.get("SHOP_PIPELINE_JSON") or "{}"
    try:
        overrides = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"SHOP_PIPELINE_JSON is not valid JSON: {exc}") from exc
    if not isinstance(overrides, dict):
        raise ImproperlyConfigured(
            f"SHOP_PIPELINE_JSON must be a JSON object, got {type(overrides).__name__}"
        )
    return overrides


BASE_DIR = Path(__file__).resolve().parent
# SECRET_KEY, DEBUG (off unless DJANGO_DEBUG=1), ALLOWED_HOSTS, the HTTPS-only settings and
# REQUEST_BODY_MAX_BYTES. Extra hosts: docker-compose's service name and Django's test client.
_web = WebSettings.from_env(extra_hosts=["django", "testserver"])
globals().update(_web.django_settings())

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "producer_django.events",
    "producer_django.tasks",
    "producer_django.shop",
    "producer_django.shop.accounts",
    "producer_django.shop.catalog",
    "producer_django.shop.inventory",
    "producer_django.shop.orders",
]

# Plus the clickjacking guard and the request-body limit (a JSON 413 before any view).
MIDDLEWARE = WebSettings.middleware([
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "producer_django.events.context.CorrelationMiddleware",
])

ROOT_URLCONF = "producer_django.shop.urls"
WSGI_APPLICATION = "producer_django.shop.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": database_config(database_url(_connections, _paths))}
# Shared by the web app (which fills it) and the cache-refresher worker (which invalidates it),
# so it must be a cross-process backend: a table in the shop's database.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "shop_cache",
        "KEY_PREFIX": "shop",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PIPELINE = {
    "PRODUCER_NAME": "shop",
    "BOOTSTRAP_SERVERS": _connections.bootstrap_servers,
    "SCHEMA_REGISTRY_URL": _connections.schema_registry_url,
    # SHOP_PIPELINE_JSON='{"MESSAGE_TIMEOUT_MS": 5000}' overrides keys per deployment; the
    # events app's checks reject unknown keys and wrong types.
    **_pipeline_overrides(),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Writes per user at DJANGO_WRITE_THROTTLE_RATE (a 429 with Retry-After); reads are free.
    # The history is kept in the default cache, the database table every process shares.
    **_web.rest_framework(),
}

# GET /api/schema/: the API's OpenAPI 3 description, readable without a token.
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop API",
    "DESCRIPTION": (
        "The demo shop of the event pipeline. Every write publishes its event through the "
        "transactional outbox; a rejected request (400, 401, 404, 409) writes nothing. "
        "Authenticate with `Authorization: Token <key>` (`pipeline status --json`: "
        "django.api_token)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Separate request and response components, so read-only fields are not request fields.
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH /api/products/<sku>/ requires its one field, like the view does.
    "COMPONENT_SPLIT_PATCH": False,
    "SCHEMA_PATH_PREFIX": r"/api/",
}

# The notifications worker sends through these; the local stack's SMTP server by default.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST") or "127.0.0.1"
EMAIL_PORT = int(os.environ.get("EMAIL_PORT") or 8025)

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
STATIC_ROOT = Path(_paths.home) / "django" / "static"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"producer_django": {"handlers": ["console"], "level": "INFO"}},
}
