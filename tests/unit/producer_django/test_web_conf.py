"""The web server's settings from the environment (producer_django.web): strict parsing, the
secret key's sources, the HTTPS switch and the middleware order. The throttle's 429 and the
body limit's 413 are tested on the real server (tests/integration/producer_django)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from producer_django.web.conf import (
    BODY_LIMIT_MIDDLEWARE,
    DEBUG_SECRET_KEY,
    FRAME_MIDDLEWARE,
    SECURITY_MIDDLEWARE,
    WRITE_THROTTLE,
    WebSettings,
)
from producer_django.web.secret import ensure_secret_key
from schemas.errors import ConfigError


def test_defaults_are_debug_off_loopback_hosts_and_a_random_key():
    first, second = WebSettings.from_env({}), WebSettings.from_env({})
    assert first.debug is False
    assert first.allowed_hosts == ("127.0.0.1", "localhost", "[::1]")
    assert first.write_rate == "100/s"
    assert first.body_max_bytes == 1024 * 1024
    # No key configured: each process gets its own, never a fixed, guessable one.
    assert first.secret_key != second.secret_key and len(first.secret_key) >= 50
    assert first.secret_key not in repr(first)


def test_hosts_add_the_projects_and_the_users_without_duplicates():
    web = WebSettings.from_env({"DJANGO_ALLOWED_HOSTS": " shop.example, localhost,,api.example"},
                               extra_hosts=["django"])
    assert web.allowed_hosts == ("127.0.0.1", "localhost", "[::1]", "django", "shop.example",
                                 "api.example")


def test_secret_key_from_variable_wins_over_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("from-the-file\n")
    assert WebSettings.from_env({"DJANGO_SECRET_KEY_FILE": str(key_file)}).secret_key == \
        "from-the-file"
    assert WebSettings.from_env({"DJANGO_SECRET_KEY_FILE": str(key_file),
                                 "DJANGO_SECRET_KEY": "given"}).secret_key == "given"


@pytest.mark.parametrize("content", [None, ""])
def test_unusable_secret_key_file_names_the_variable_and_the_fix(tmp_path, content):
    key_file = tmp_path / "key"
    if content is not None:
        key_file.write_text(content)
    with pytest.raises(ConfigError, match="DJANGO_SECRET_KEY_FILE=.*(pipeline up|unset)"):
        WebSettings.from_env({"DJANGO_SECRET_KEY_FILE": str(key_file)})


def test_debug_is_a_strict_flag_with_a_stable_dev_key():
    assert WebSettings.from_env({"DJANGO_DEBUG": "1"}).secret_key == DEBUG_SECRET_KEY
    assert WebSettings.from_env({"DJANGO_DEBUG": "off"}).debug is False
    with pytest.raises(ConfigError, match="DJANGO_DEBUG='maybe' is not a flag; use 1 or 0"):
        WebSettings.from_env({"DJANGO_DEBUG": "maybe"})


@pytest.mark.parametrize("raw, rate", [("30/m", "30/m"), ("5/Second", "5/second"),
                                       ("off", None), ("", "100/s")])
def test_write_rate(raw, rate):
    web = WebSettings.from_env({"DJANGO_WRITE_THROTTLE_RATE": raw})
    assert web.write_rate == rate
    assert web.rest_framework() == {"DEFAULT_THROTTLE_CLASSES": [WRITE_THROTTLE],
                                    "DEFAULT_THROTTLE_RATES": {"write": rate}}


@pytest.mark.parametrize("raw", ["100", "0/s", "10/week", "ten/s"])
def test_bad_write_rate_shows_the_forms(raw):
    with pytest.raises(ConfigError, match="DJANGO_WRITE_THROTTLE_RATE=.*100/s, 600/m"):
        WebSettings.from_env({"DJANGO_WRITE_THROTTLE_RATE": raw})


@pytest.mark.parametrize("raw", ["0", "-1", "1MB"])
def test_bad_body_limit(raw):
    with pytest.raises(ConfigError, match="DJANGO_REQUEST_BODY_MAX_BYTES=.*positive"):
        WebSettings.from_env({"DJANGO_REQUEST_BODY_MAX_BYTES": raw})


def test_https_settings_only_with_https():
    plain = WebSettings.from_env({}).django_settings()
    assert not (plain["SECURE_SSL_REDIRECT"] or plain["SESSION_COOKIE_SECURE"]
                or plain["CSRF_COOKIE_SECURE"] or plain["SECURE_HSTS_SECONDS"])
    proxied = WebSettings.from_env({"DJANGO_HTTPS": "proxy", "DJANGO_HSTS_SECONDS": "60"})
    values = proxied.django_settings()
    assert values["SECURE_SSL_REDIRECT"] and values["SESSION_COOKIE_SECURE"]
    assert values["CSRF_COOKIE_SECURE"] and values["SECURE_HSTS_SECONDS"] == 60
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert WebSettings.from_env({"DJANGO_HTTPS": "1"}).django_settings()[
        "SECURE_PROXY_SSL_HEADER"] is None
    with pytest.raises(ConfigError, match="DJANGO_HTTPS='tls' is not one of"):
        WebSettings.from_env({"DJANGO_HTTPS": "tls"})
    with pytest.raises(ConfigError, match="set DJANGO_HTTPS=1"):
        WebSettings.from_env({"DJANGO_HSTS_SECONDS": "60"})


def test_middleware_goes_right_after_security_once():
    given = [SECURITY_MIDDLEWARE, "a.Session", "b.Correlation"]
    expected = [SECURITY_MIDDLEWARE, FRAME_MIDDLEWARE, BODY_LIMIT_MIDDLEWARE, "a.Session",
                "b.Correlation"]
    assert WebSettings.middleware(given) == expected
    assert WebSettings.middleware(expected) == expected
    assert WebSettings.middleware(["a.Session"])[:2] == [FRAME_MIDDLEWARE, BODY_LIMIT_MIDDLEWARE]


def test_secret_key_file_is_made_once_private_and_reused(tmp_path):
    path = tmp_path / "home" / "django" / "secret_key"
    assert ensure_secret_key(path) == path
    key = path.read_text()
    assert path.stat().st_mode & 0o777 == 0o600 and len(key.strip()) >= 50
    path.chmod(0o644)
    ensure_secret_key(path)
    assert path.read_text() == key and path.stat().st_mode & 0o777 == 0o600


def test_concurrent_first_starts_agree_on_one_key(tmp_path):
    path = tmp_path / "secret_key"
    threads = [threading.Thread(target=ensure_secret_key, args=(path,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(path.read_text().split()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def _deploy_check(tmp_path, **env) -> set[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(PIPELINE_HOME=str(tmp_path), DJANGO_SECRET_KEY_FILE=str(
        ensure_secret_key(tmp_path / "secret_key")), **env)
    done = subprocess.run([sys.executable, "-m", "producer_django.manage", "check", "--deploy"],
                          env=clean, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    words = (done.stdout + done.stderr).split()
    return {word.strip("():") for word in words if word.startswith("(security.")}


def test_behind_a_tls_proxy_the_https_warnings_go(tmp_path):
    # HSTS's subdomain and preload flags stay the operator's decision, so check --deploy keeps
    # asking about them (W005, W021); the four warnings of the plain-HTTP stack are gone.
    assert _deploy_check(tmp_path, DJANGO_HTTPS="proxy") == {"security.W005", "security.W021"}
