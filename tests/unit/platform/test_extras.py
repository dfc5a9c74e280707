"""Dependencies by role: the core imports without any extra; a missing extra is named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from schemas.errors import PipelineError
from schemas.extras import MissingExtra, require

REPO = Path(__file__).resolve().parents[3]

# Import names of the packages that only extras bring, by extra (see pyproject.toml).
EXTRA_PACKAGES = {
    "streams": ("faust", "mode", "aiokafka", "rocksdict"),
    "replay": ("pyarrow", "pandas", "rich"),
    "stack": ("gunicorn", "aiosmtpd", "testcontainers", "rest_framework"),
    "postgres": ("psycopg",),
}
# Generic modules that belong to an extra, and why; every other generic module is core.
EXTRA_MODULES = {
    "streams": "the faust toolkit (streams extra)",
    "consumers.smtp_server": "the local stack's SMTP server (stack extra)",
    "consumers.stack": "the local stack's processes, with the SMTP server (stack extra)",
    "consumers.replay.export": "replay exports with a progress display (replay extra)",
    "consumers.replay.progress": "the progress display (replay extra)",
    "consumers.replay.parquet_export": "Parquet exports (replay extra)",
    # Not an extra: a Django project of its own, whose models load only under its settings.
    "deploy.console": "the operations console (its own Django settings)",
}
SHOP_CODE = (
    "producer_django.shop", "consumers.shop", "streams.shop", "schemas.shop", "deploy.shop",
)


def test_require_returns_the_module():
    import json as expected

    assert require("json", "replay", "a test") is expected


def test_a_missing_module_names_the_extra_and_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "faust", None)  # as if faust-streaming were not installed

    with pytest.raises(MissingExtra) as caught:
        require("faust", "streams", "`pipeline streams run`")

    assert str(caught.value) == (
        "`pipeline streams run` needs faust-streaming: pip install 'event-pipeline[streams]'"
    )
    assert isinstance(caught.value, PipelineError) and isinstance(caught.value, ImportError)
    assert (caught.value.module, caught.value.extra) == ("faust", "streams")
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_a_missing_submodule_names_its_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    # An earlier test may have imported it already.
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)

    expected = r"needs pyarrow: pip install 'event-pipeline\[replay\]'"
    with pytest.raises(MissingExtra, match=expected):
        require("pyarrow.parquet", "replay", "`pipeline replay --format parquet`")


def test_a_broken_module_is_not_reported_as_missing(tmp_path, monkeypatch):
    (tmp_path / "broken_extra_module.py").write_text("from json import no_such_name\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(ImportError) as caught:
        require("broken_extra_module", "streams", "a test")
    assert not isinstance(caught.value, MissingExtra)


def test_every_extra_package_is_in_its_extra_and_all_includes_every_extra():
    with open(REPO / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    extras = project["optional-dependencies"]
    core = " ".join(project["dependencies"]).lower()
    for extra in EXTRA_PACKAGES:
        assert extra in extras, extra
    (everything,) = extras["all"]
    assert set(everything.partition("[")[2].rstrip("]").split(",")) == set(EXTRA_PACKAGES)
    for needle in ("faust", "aiokafka", "rocksdict", "pyarrow", "pandas", "gunicorn",
                   "aiosmtpd", "testcontainers", "djangorestframework", "psycopg"):
        assert needle not in core, f"{needle} is in the core dependencies; move it to an extra"
    assert project["entry-points"]["pytest11"] == {"event_pipeline": "deploy.pytest_plugin"}


_PROBE = textwrap.dedent(
    """
    import importlib, json, os, pkgutil, sys

    blocked, skipped, shop = (json.loads(arg) for arg in sys.argv[1:4])

    class BlockExtras:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in blocked:
                raise ModuleNotFoundError(f"No module named {name!r} (extra)", name=name)

    sys.meta_path.insert(0, BlockExtras())
    os.environ["DJANGO_SETTINGS_MODULE"] = "core_settings"
    import django
    django.setup()

    def inside(name, prefixes):
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    failures = {}
    for package in ("schemas", "producer_django.events", "consumers", "deploy"):
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            name = info.name
            if inside(name, skipped) or inside(name, shop) or ".migrations." in name:
                continue
            try:
                importlib.import_module(name)
            except ImportError as exc:
                failures[name] = str(exc)
    try:
        from deploy import cli
        cli._parser()
    except ImportError as exc:
        failures["deploy.cli._parser()"] = str(exc)
    print(json.dumps(failures))
    """
)


def test_the_core_imports_without_any_extra(tmp_path):
    """What a Django project that only publishes (and runs the relay and workers) imports."""
    (tmp_path / "core_settings.py").write_text(
        "SECRET_KEY = 'core'\nUSE_TZ = True\n"
        "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', "
        "'django.contrib.admin', 'django.contrib.sessions', 'django.contrib.messages', "
        "'producer_django.events']\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}}\n"
    )
    blocked = sorted({name for names in EXTRA_PACKAGES.values() for name in names})
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(blocked), json.dumps(sorted(EXTRA_MODULES)),
         json.dumps(SHOP_CODE)],
        capture_output=True, text=True, cwd=REPO, timeout=300,
        env={**_clean_env(), "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, (
        "core modules import a package of an extra at module level; import it inside the "
        "function that needs it (with schemas.extras.require) or list the module in "
        f"EXTRA_MODULES: {failures}"
    )


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",
                                                             "PYTHONPATH")}
