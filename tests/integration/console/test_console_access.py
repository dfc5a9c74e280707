"""Who may do what in the console: a login for every page and API, the operator permission for
changing actions, CSRF on every POST, and an audit log of what changed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.integration.console.conftest import add_user

WORKER_GROUP = "worker-notifications"
PAGES = [
    "/", "/overview/live", "/topics/", "/topics/shop.notifications/",
    "/topics/shop.notifications/export?format=jsonl", "/groups/", f"/groups/{WORKER_GROUP}/",
    f"/groups/{WORKER_GROUP}/reset?to=beginning", "/deadletters/",
    f"/deadletters/{WORKER_GROUP}/", f"/deadletters/{WORKER_GROUP}/redrive?count=all",
    "/lineage/", "/audit/",
]
APIS = ["/api/overview"]
ACTIONS = {
    f"/deadletters/{WORKER_GROUP}/redrive/execute": {"count": "all", "confirm": "yes"},
    f"/groups/{WORKER_GROUP}/reset/execute": {"to": "beginning", "confirm": "yes"},
}


def test_status_gives_the_console_url_and_private_dev_credentials(console_up, console):
    report = console_up.status()
    assert report["components"]["console"]["healthy"]
    assert report["components"]["console"]["pid"]
    assert console["url"].startswith("http://127.0.0.1:")
    assert console["username"] and console["password"]
    credentials = Path(console_up.home) / "console" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600


def test_anonymous_is_refused_on_every_page_api_and_action(session_factory):
    anonymous = session_factory()
    for path in PAGES:
        response = anonymous.http.get(path)
        assert response.status_code == 302, path
        assert response.headers["location"].startswith("/login/?next="), path
    for path in APIS:
        assert anonymous.http.get(path).status_code == 401, path
    for path, data in ACTIONS.items():
        response = anonymous.post_form(path, data, token_from="/login/")
        assert response.status_code in (302, 401, 403), path
        assert not response.headers.get("location", "").startswith("/deadletters"), path


def test_a_read_only_user_sees_every_page_but_cannot_redrive_or_reset(
    console_up, session_factory
):
    add_user(console_up, "viewer", "viewer-pass-1")
    viewer = session_factory().login("viewer", "viewer-pass-1")
    for path in PAGES:
        assert viewer.http.get(path).status_code == 200, path
    assert viewer.http.get("/api/overview").json()["components"]["console"]["healthy"]
    for path, data in ACTIONS.items():
        response = viewer.post_form(path, data)
        assert response.status_code == 403, path
        assert "operator permission" in response.text
    assert "viewer" not in viewer.http.get("/audit/").text.split("<table", 1)[1]
    assert "(read-only)" in viewer.http.get("/").text


def test_a_post_without_its_csrf_token_is_refused(console, session_factory):
    operator = session_factory().login(console["username"], console["password"])
    for path, data in ACTIONS.items():
        response = operator.http.post(path, data=data, headers={"Referer": operator.url + "/"})
        assert response.status_code == 403, path
        assert "CSRF" in response.text


@pytest.mark.parametrize("path", ["/healthz", "/static/console/console.js"])
def test_health_and_static_assets_need_no_login_and_come_from_the_package(
    session_factory, path
):
    assert session_factory().http.get(path).status_code == 200


def test_metrics_need_no_login_and_count_requests_and_actions(console, session_factory):
    operator = session_factory().login(console["username"], console["password"])
    assert operator.http.get("/groups/").status_code == 200
    page = session_factory().http.get("/metrics")
    assert page.status_code == 200
    assert 'pipeline_console_requests_total{status="200",view="groups"}' in page.text
    assert "pipeline_console_sample_seconds_count" in page.text
