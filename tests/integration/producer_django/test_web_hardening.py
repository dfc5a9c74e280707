"""The web server as `pipeline up` runs it: DEBUG off, the home's secret key (0600, kept across
restarts), ALLOWED_HOSTS, security headers, static files; a JSON 413 for an oversized body, a
411 for a body without a Content-Length and a 429 for too many writes, none writing an outbox
row; `check --deploy` gives only the HTTPS warnings a plain-HTTP loopback stack cannot avoid."""

from __future__ import annotations

import json
import os
import re
import subprocess

import httpx
import pytest

from producer_django.shop.testing import ShopProcesses
from producer_django.stack import DjangoServer, django_env, manage_argv, secret_key_file
from producer_django.testing import query

# No TLS on a loopback stack: no HSTS (W004), no redirect to https (W008), and cookies marked
# Secure would never come back over http (W012 session, W016 CSRF).
LOOPBACK_HTTPS_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016"}
BODY_LIMIT = 1024 * 1024


def _stack_env(stack) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return {**clean, **django_env(stack.settings, stack.home)}


def test_check_deploy_gives_only_the_https_warnings(stack):
    done = subprocess.run(manage_argv("check", "--deploy"), env=_stack_env(stack),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ids = set(re.findall(r"\(([\w.]+\.[WE]\d+)\)", done.stdout + done.stderr))
    assert ids == LOOPBACK_HTTPS_WARNINGS, done.stderr


def test_server_runs_with_debug_off_and_the_homes_private_key(shop, stack):
    server = DjangoServer(stack.settings, stack.home)
    key_file = secret_key_file(stack.home)
    assert key_file.stat().st_mode & 0o777 == 0o600
    pid = stack.status()["components"]["django"]["pid"]
    environ = dict(item.split("=", 1) for item in
                   open(f"/proc/{pid}/environ").read().split("\0") if "=" in item)
    assert environ["DJANGO_SECRET_KEY_FILE"] == str(key_file)
    # DEBUG off: an unknown page is Django's plain 404, without the debug page's URL listing.
    page = httpx.get(server.url + "/no-such-page/")
    assert page.status_code == 404 and "URLconf" not in page.text
    assert httpx.get(server.url + "/health/", headers={"Host": "evil.example"}).status_code == 400


def test_security_headers_and_static_files(shop):
    health = shop.http.get("/health/")
    assert health.headers["X-Frame-Options"] == "DENY"
    assert health.headers["X-Content-Type-Options"] == "nosniff"
    assert health.headers["Referrer-Policy"] == "same-origin"
    # The admin's CSS is served by the app itself (no web server in front) with DEBUG off.
    css = shop.http.get("/static/admin/css/base.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")


def _padded_order(size: int) -> bytes:
    """A JSON order body of exactly `size` bytes (the padding is a field DRF ignores)."""
    body = {"user_id": "00000000-0000-0000-0000-000000000000", "lines": [], "pad": ""}
    base = len(json.dumps(body).encode())
    body["pad"] = "x" * (size - base)
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


def test_oversized_body_gets_a_413_naming_the_limit_and_writes_nothing(shop):
    before = shop.outbox_rows()
    headers = {"Content-Type": "application/json"}
    # Several in a row on one connection: the refused body is drained, the connection kept.
    for size in (BODY_LIMIT + 1, 3 * BODY_LIMIT, BODY_LIMIT + 1):
        over = shop.http.post("/api/orders/", content=_padded_order(size), headers=headers)
        assert over.status_code == 413, over.text
        assert over.json()["limit_bytes"] == BODY_LIMIT
        assert f"limit of {BODY_LIMIT} bytes" in over.json()["detail"]
    # At the limit the body reaches the view, which rejects the made-up order on its merits.
    at = shop.http.post("/api/orders/", content=_padded_order(BODY_LIMIT), headers=headers)
    assert at.status_code in (400, 404), at.text

    # Without a Content-Length (chunked) Django would read no body at all: a 411 instead.
    def chunks():
        yield b'{"email": "chunked@example.com", "name": "'
        for _ in range(2 * BODY_LIMIT // 65536):
            yield b"x" * 65536
        yield b'"}'

    chunked = shop.http.post("/api/users/", content=chunks(), headers=headers)
    assert chunked.status_code == 411, chunked.text
    assert "Content-Length" in chunked.json()["detail"]
    assert shop.outbox_rows() == before
    assert shop.http.get("/health/").status_code == 200


@pytest.fixture(scope="module")
def own_shop(settings, tmp_path_factory):
    """A shop server of its own (own home and database) with a low write rate and a host the
    user configured, started the way the stack starts it."""
    processes = ShopProcesses(settings, tmp_path_factory.mktemp("web-home"))
    processes.env.update(DJANGO_WRITE_THROTTLE_RATE="3/m", DJANGO_ALLOWED_HOSTS="shop.example")
    processes.setup()
    processes.start_server()
    yield processes
    processes.close()


def _client(processes) -> httpx.Client:
    token = processes.server.api_token()
    return httpx.Client(base_url=processes.server.url, timeout=30,
                        headers={"Authorization": f"Token {token}"})


def _outbox_rows(processes) -> int:
    return query(processes.db_url, "SELECT COUNT(*) FROM events_outbox")[0][0]


def test_writes_over_the_rate_get_a_429_and_reads_pass(own_shop):
    with _client(own_shop) as http:
        for n in range(3):
            created = http.post("/api/products/", json={"sku": f"thr-{n}", "name": "Cup",
                                                        "price_cents": 100, "stock": 1})
            assert created.status_code == 201, created.text
        before = _outbox_rows(own_shop)
        refused = http.post("/api/products/", json={"sku": "thr-3", "name": "Cup",
                                                    "price_cents": 100, "stock": 1})
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["limit"] == "3/m"
        assert "3 writes per minute per user" in refused.json()["detail"]
        assert _outbox_rows(own_shop) == before
        for _ in range(5):
            assert http.get("/api/products/thr-0/").status_code == 200
        assert http.get("/api/products/thr-3/").status_code == 404


def test_configured_host_is_allowed(own_shop):
    url = own_shop.server.url + "/health/"
    assert httpx.get(url, headers={"Host": "shop.example"}).status_code == 200
    assert httpx.get(url, headers={"Host": "other.example"}).status_code == 400


def _admin_login(processes) -> httpx.Client:
    http = httpx.Client(base_url=processes.server.url, timeout=30)
    form = http.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    password = processes.server.password_file.read_text().strip()
    done = http.post("/admin/login/?next=/admin/", data={
        "username": "dev", "password": password, "csrfmiddlewaretoken": token, "next": "/admin/"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/", done.text
    return http


def test_admin_session_survives_a_restart_with_the_same_key(own_shop):
    key_file = secret_key_file(own_shop.home)
    key = key_file.read_text()
    admin = _admin_login(own_shop)
    try:
        assert admin.get("/admin/").status_code == 200
        own_shop.stop(own_shop.pids.pop())
        own_shop.start_server()
        # A new key would void the session (its auth hash is keyed): back to the login page.
        assert admin.get("/admin/").status_code == 200
    finally:
        admin.close()
    assert key_file.read_text() == key and key_file.stat().st_mode & 0o777 == 0o600
