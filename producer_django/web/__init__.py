"""Web hardening for any project that serves its Django app through the pipeline's stack.

- `conf.WebSettings.from_env()`: DEBUG, SECRET_KEY, ALLOWED_HOSTS, HTTPS, the write rate and the
  request-body limit, read from the environment in one place and checked strictly;
  `.django_settings()` and `.rest_framework()` give the values to put in a settings module.
- `limits.RequestBodyLimitMiddleware`: a body over `REQUEST_BODY_MAX_BYTES` gets a JSON 413
  before any view runs.
- `throttling.WriteRateThrottle`: DRF throttling of writes (POST/PUT/PATCH/DELETE) per user; a
  JSON 429 with Retry-After naming the limit. Reads are never throttled.
- `secret.ensure_secret_key(path)`: the stack home's SECRET_KEY file, made once (0600).
"""
