"""docker-compose.yml is valid (`docker-compose config` needs no engine) and complete."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def compose(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("docker-compose")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing; .ci/run installs Debian's docker-compose")
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    return subprocess.run(
        [tool, "-f", str(ROOT / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_compose_file_is_valid():
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_runs_every_component_of_the_local_stack():
    services = set(compose("config", "--services").stdout.split())
    assert {"kafka", "registry", "postgres", "django", "relay", "smtp"} <= services
    assert any(s.startswith("streams-") or s.startswith("streams") for s in services)
    assert any(s.startswith("worker-") or s.startswith("worker") for s in services)


def test_infrastructure_has_healthchecks():
    import yaml

    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("kafka", "registry", "postgres"):
        assert "healthcheck" in spec["services"][name], name
