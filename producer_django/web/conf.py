"""The web server's settings from the environment: read here only, checked strictly.

| variable | meaning | default |
|---|---|---|
| DJANGO_DEBUG | 1/true/yes/on or 0/false/no/off | off |
| DJANGO_SECRET_KEY | the key itself (wins over the file) | |
| DJANGO_SECRET_KEY_FILE | a file holding the key (`pipeline up` makes one per home, 0600) | |
| DJANGO_ALLOWED_HOSTS | extra host names, comma-separated | 127.0.0.1, localhost, [::1] |
| DJANGO_WRITE_THROTTLE_RATE | writes per user: `N/s`, `N/m`, `N/h`, `N/d`, or `off` | 100/s |
| DJANGO_REQUEST_BODY_MAX_BYTES | largest request body accepted | 1048576 |
| DJANGO_HTTPS | `1`: served over TLS; `proxy`: behind a proxy setting X-Forwarded-Proto | off |
| DJANGO_HSTS_SECONDS | Strict-Transport-Security max-age (with DJANGO_HTTPS only) | 3600 |

Without any key a process gets a random one of its own: fine for processes that sign nothing
(relay, workers); a web server needs a shared, lasting key (the file) or sessions break.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schemas.errors import ConfigError

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_WRITE_RATE = "100/s"
DEFAULT_BODY_MAX_BYTES = 1024 * 1024
DEFAULT_HSTS_SECONDS = 3600
# Only with DJANGO_DEBUG on: `runserver` reloads keep their sessions. Django's check --deploy
# flags any key with this prefix.
DEBUG_SECRET_KEY = "django-insecure-local-debug-key-never-used-with-debug-off"

BODY_LIMIT_MIDDLEWARE = "producer_django.web.limits.RequestBodyLimitMiddleware"
SECURITY_MIDDLEWARE = "django.middleware.security.SecurityMiddleware"
FRAME_MIDDLEWARE = "django.middleware.clickjacking.XFrameOptionsMiddleware"
WRITE_THROTTLE = "producer_django.web.throttling.WriteRateThrottle"
WRITE_SCOPE = "write"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}
_RATE = re.compile(r"^([1-9]\d*)/(s|sec|second|m|min|minute|h|hour|d|day)$")
_HTTPS = {"": None, "0": None, "off": None, "1": "direct", "proxy": "proxy"}


@dataclass(frozen=True)
class WebSettings:
    secret_key: str = field(repr=False)
    debug: bool = False
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS
    write_rate: str | None = DEFAULT_WRITE_RATE
    body_max_bytes: int = DEFAULT_BODY_MAX_BYTES
    https: str | None = None
    hsts_seconds: int = 0

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        extra_hosts: Iterable[str] = (),
        default_write_rate: str | None = DEFAULT_WRITE_RATE,
        default_body_max_bytes: int = DEFAULT_BODY_MAX_BYTES,
    ) -> WebSettings:
        """`extra_hosts` are the project's own host names (e.g. a compose service name)."""
        env = os.environ if environ is None else environ
        debug = _flag(env, "DJANGO_DEBUG")
        https = _choice(env, "DJANGO_HTTPS", _HTTPS)
        hsts = env.get("DJANGO_HSTS_SECONDS", "").strip()
        if hsts and not https:
            raise ConfigError(
                "DJANGO_HSTS_SECONDS is set but DJANGO_HTTPS is not; HSTS only means something "
                "over HTTPS: set DJANGO_HTTPS=1 (or proxy), or unset DJANGO_HSTS_SECONDS"
            )
        return cls(
            secret_key=_secret_key(env, debug),
            debug=debug,
            allowed_hosts=_hosts(LOCAL_HOSTS, extra_hosts, env.get("DJANGO_ALLOWED_HOSTS", "")),
            write_rate=_rate(env, default_write_rate),
            body_max_bytes=_positive(env, "DJANGO_REQUEST_BODY_MAX_BYTES",
                                     default_body_max_bytes),
            https=https,
            hsts_seconds=(_positive(env, "DJANGO_HSTS_SECONDS", DEFAULT_HSTS_SECONDS)
                          if https else 0),
        )

    def django_settings(self) -> dict:
        """Top-level Django settings: `globals().update(web.django_settings())`."""
        https = self.https is not None
        return {
            "SECRET_KEY": self.secret_key,
            "DEBUG": self.debug,
            "ALLOWED_HOSTS": list(self.allowed_hosts),
            "REQUEST_BODY_MAX_BYTES": self.body_max_bytes,
            # Cookies marked Secure are never sent back over plain HTTP, and a redirect to
            # https:// has nowhere to go on a loopback stack: both only with DJANGO_HTTPS.
            "SECURE_SSL_REDIRECT": https,
            "SESSION_COOKIE_SECURE": https,
            "CSRF_COOKIE_SECURE": https,
            "SECURE_HSTS_SECONDS": self.hsts_seconds,
            "SECURE_PROXY_SSL_HEADER": (
                ("HTTP_X_FORWARDED_PROTO", "https") if self.https == "proxy" else None
            ),
            "SECURE_CONTENT_TYPE_NOSNIFF": True,
            "SECURE_REFERRER_POLICY": "same-origin",
            "SESSION_COOKIE_HTTPONLY": True,
            "X_FRAME_OPTIONS": "DENY",
        }

    def rest_framework(self) -> dict:
        """Keys to merge into REST_FRAMEWORK: the write throttle and its rate."""
        return {
            "DEFAULT_THROTTLE_CLASSES": [WRITE_THROTTLE],
            "DEFAULT_THROTTLE_RATES": {WRITE_SCOPE: self.write_rate},
        }

    @staticmethod
    def middleware(existing: Iterable[str]) -> list[str]:
        """`existing` with the clickjacking guard and the body limit right after
        SecurityMiddleware (first if it is absent), before anything reads the body; the rest
        keep their order."""
        ours = [FRAME_MIDDLEWARE, BODY_LIMIT_MIDDLEWARE]
        out = [name for name in existing if name not in ours]
        at = out.index(SECURITY_MIDDLEWARE) + 1 if SECURITY_MIDDLEWARE in out else 0
        return [*out[:at], *ours, *out[at:]]


def _flag(env: Mapping[str, str], key: str) -> bool:
    value = env.get(key, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{key}={env[key]!r} is not a flag; use 1 or 0")


def _choice(env: Mapping[str, str], key: str, choices: dict):
    value = env.get(key, "").strip().lower()
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices if c)
        raise ConfigError(f"{key}={env[key]!r} is not one of {allowed}")
    return choices[value]


def _positive(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{key}={raw!r} is not a positive whole number; e.g. {key}={default}")
    return value


def _rate(env: Mapping[str, str], default: str | None) -> str | None:
    raw = env.get("DJANGO_WRITE_THROTTLE_RATE", "").strip().lower()
    if not raw:
        return default
    if raw in ("off", "none", "0"):
        return None
    if not _RATE.match(raw):
        raise ConfigError(
            f"DJANGO_WRITE_THROTTLE_RATE={raw!r} is not a rate; use requests per period "
            "like 100/s, 600/m, 5000/h, 20000/d, or off"
        )
    return raw


def _hosts(local: Iterable[str], extra: Iterable[str], configured: str) -> tuple[str, ...]:
    hosts: list[str] = []
    for host in [*local, *extra, *configured.split(",")]:
        host = host.strip()
        if host and host not in hosts:
            hosts.append(host)
    return tuple(hosts)


def _secret_key(env: Mapping[str, str], debug: bool) -> str:
    if env.get("DJANGO_SECRET_KEY", "").strip():
        return env["DJANGO_SECRET_KEY"].strip()
    path = env.get("DJANGO_SECRET_KEY_FILE", "").strip()
    if path:
        try:
            key = Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"DJANGO_SECRET_KEY_FILE={path} cannot be read ({exc.strerror}); create it "
                "(`pipeline up` makes one in its home) or unset the variable"
            ) from exc
        if not key:
            raise ConfigError(f"DJANGO_SECRET_KEY_FILE={path} is empty; put a key in it "
                              "or delete it so that `pipeline up` makes a new one")
        return key
    return DEBUG_SECRET_KEY if debug else secrets.token_urlsafe(64)
