"""events.E005: a MIDDLEWARE entry of this package that does not import is named at
`manage.py check`, with the right path as the hint, instead of failing the first request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from producer_django.events.checks import CORRELATION_MIDDLEWARE, middleware_problems

HERE = Path(__file__).parent


def test_the_correlation_middleware_path_passes():
    assert middleware_problems(
        ["django.middleware.common.CommonMiddleware", CORRELATION_MIDDLEWARE]) == []


def test_the_short_path_of_older_docs_is_named_with_the_right_one():
    [error] = middleware_problems(["events.context.CorrelationMiddleware"])
    assert error.id == "events.E005"
    assert "'events.context.CorrelationMiddleware'" in error.msg
    assert "does not import" in error.msg
    assert CORRELATION_MIDDLEWARE in error.hint


def test_a_mistyped_path_in_the_package_is_named():
    [error] = middleware_problems(["producer_django.events.context.CorelationMiddleware"])
    assert error.id == "events.E005" and "CorelationMiddleware" in error.msg


def test_other_packages_middleware_is_left_to_django():
    assert middleware_problems(["somebody_else.Middleware", None]) == []


def test_manage_check_fails_on_the_wrong_path(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SHOP_PIPELINE_JSON")},
        "DJANGO_SETTINGS_MODULE": "bad_middleware_settings",
        "PYTHONPATH": str(HERE),
        "PIPELINE_HOME": str(tmp_path),
    }
    done = subprocess.run([sys.executable, "-m", "producer_django.manage", "check"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "events.E005" in out and CORRELATION_MIDDLEWARE in out
