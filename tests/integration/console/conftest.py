"""The console as `pipeline up` runs it (component `console` of the session's stack), and an
HTTP session that logs in like a browser (CSRF token from the form, session cookie)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
import pytest

_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class ConsoleSession:
    def __init__(self, url: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def csrf_token(self, path: str = "/login/") -> str:
        page = self.http.get(path)
        found = _CSRF_FIELD.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code}"
        return found.group(1)

    def login(self, username: str, password: str) -> ConsoleSession:
        token = self.csrf_token()
        response = self.http.post("/login/", data={
            "username": username, "password": password, "csrfmiddlewaretoken": token,
        }, headers={"Referer": self.url + "/login/"})
        assert response.status_code == 302, f"login of {username} failed: {response.text[:300]}"
        return self

    def post_form(self, path: str, data: dict, *, token_from: str = "/") -> httpx.Response:
        """A POST as the console's forms send it: with the CSRF token and a same-origin
        Referer."""
        token = self.csrf_token(token_from)
        return self.http.post(path, data={**data, "csrfmiddlewaretoken": token},
                              headers={"Referer": self.url + token_from})


@pytest.fixture(scope="module")
def console_up(stack, settings):
    """The console component started the way `pipeline up` starts it."""
    stack.up(only={"console"})
    yield stack
    stack.stop("console")


@pytest.fixture(scope="module")
def console(console_up):
    """{"url", "username", "password"} of the running console (the dev operator)."""
    return console_up.status()["console"]


def add_user(stack, username: str, password: str, *, operator: bool = False) -> None:
    """`pipeline console user` against the stack's home."""
    argv = [sys.executable, "-m", "deploy.cli", "console", "user", username,
            "--password", password] + (["--operator"] if operator else [])
    env = {**os.environ, "PIPELINE_HOME": str(stack.home)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def session_factory(console):
    made = []

    def make() -> ConsoleSession:
        made.append(ConsoleSession(console["url"]))
        return made[-1]

    yield make
    for s in made:
        s.close()
