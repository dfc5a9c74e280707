"""The `pipeline` command line against the session's stack, and against nothing at all."""

import json
import os
import subprocess
import sys

import pytest

from deploy import topics


def pipeline(*args, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def stack_env(stack, settings):
    env = {"PIPELINE_HOME": str(stack.home)}
    if "kafka" in stack.external:
        env["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
    if "registry" in stack.external:
        env["SCHEMA_REGISTRY_URL"] = settings.schema_registry_url
    return env


def test_status_json_reports_components(stack, stack_env, settings):
    result = pipeline("status", "--json", env=stack_env)
    report = json.loads(result.stdout)
    assert report["kafka"]["bootstrap_servers"] == settings.bootstrap_servers
    assert report["schema_registry"]["url"] == settings.schema_registry_url
    managed = {c.name for c in stack.components()}
    for name in ("kafka", "schema-registry"):
        if name in managed:  # external services (an existing cluster) have no pid here
            assert report["components"][name]["healthy"] is True
            assert isinstance(report["components"][name]["pid"], int)
    for key in ("django", "streams", "smtp"):
        assert key in report, f"status --json lacks {key!r}"


def test_topics_apply_is_idempotent_and_list_shows_sync(stack_env):
    first = pipeline("topics", "apply", env=stack_env)
    assert first.returncode == 0, first.stderr
    second = pipeline("topics", "apply", env=stack_env)
    assert second.returncode == 0
    lines = second.stdout.strip().splitlines()
    assert len(lines) == len(topics.project_catalog())
    assert {line.split()[1] for line in lines} == {"ok"}
    listing = pipeline("topics", "list", env=stack_env)
    assert "shop.orders" in listing.stdout and "in sync" in listing.stdout


def test_schemas_register_and_check(stack_env):
    assert pipeline("schemas", "register", env=stack_env).returncode == 0
    check = pipeline("schemas", "check", env=stack_env)
    assert check.returncode == 0, check.stderr
    assert "shop.orders-shop.events.OrderPlaced" in check.stdout


def test_schemas_check_fails_on_a_breaking_change(stack_env, tmp_path):
    from schemas import catalog

    schema = catalog.event_type("UserRegistered").schema_dict()
    schema["fields"].append({"name": "phone", "type": "string"})
    (tmp_path / "UserRegistered.avsc").write_text(json.dumps(schema))
    check = pipeline("schemas", "check", "--schemas-dir", str(tmp_path), env=stack_env)
    assert check.returncode == 1
    assert "shop.users-shop.events.UserRegistered" in check.stderr
    assert "UserRegistered.phone" in check.stderr


@pytest.mark.parametrize(
    "args, env, address",
    [
        (("topics", "list"), {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, "127.0.0.1:1"),
        (
            ("schemas", "check"),
            {"SCHEMA_REGISTRY_URL": "http://127.0.0.1:1/apis/ccompat/v7"},
            "http://127.0.0.1:1",
        ),
    ],
)
def test_unreachable_services_fail_fast_naming_the_address(tmp_path, args, env, address):
    # A hang would raise subprocess.TimeoutExpired here.
    result = pipeline(*args, env={"PIPELINE_HOME": str(tmp_path), **env}, timeout=60)
    assert result.returncode == 3, result.stderr
    assert address in result.stderr and "unreachable" in result.stderr
    assert "pipeline up" in result.stderr
