"""Fixtures for the shop: the session stack's Django server (SQLite) and an API client."""

from __future__ import annotations

import uuid

import httpx
import pytest

from producer_django.stack import DjangoServer, django_env


class Shop:
    def __init__(self, url: str, token: str, db_url: str):
        self.url = url
        self.token = token
        self.db_url = db_url
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Token {token}"}, timeout=30
        )

    def post(self, path: str, body: dict, correlation_id: str | None = None):
        headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}
        return self.http.post(path, json=body, headers=headers)

    def outbox_rows(self) -> int:
        from producer_django.testing import query

        return query(self.db_url, "SELECT COUNT(*) FROM events_outbox")[0][0]


@pytest.fixture(scope="session")
def shop(stack, settings):
    """The session stack's Django server and relay, started as `pipeline up` starts them."""
    stack.up(only={"django", "relay"})
    server = DjangoServer(stack.settings, stack.home)
    assert server.healthy(), f"django is not healthy; see {server.log}"
    env = django_env(stack.settings, stack.home)
    client = Shop(server.url, server.api_token(), env["DATABASE_URL"])
    yield client
    client.http.close()


@pytest.fixture
def prefix():
    return "t" + uuid.uuid4().hex[:10]
