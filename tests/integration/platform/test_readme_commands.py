"""Every `pipeline ...` command the README shows in a bash block runs on the session's stack:
no traceback, and the exit code the README promises (see tests/readme_commands.py for the
markers). Blocks that need the shop's running stack with data run in tests/e2e/test_shop_flow.py.
"""

from __future__ import annotations

import os

import pytest
from readme_commands import README, readme_commands, run

COMMANDS = readme_commands(README.read_text()) if README.exists() else []


def test_the_readme_shows_pipeline_commands():
    assert COMMANDS, f"no `pipeline` command found in the bash blocks of {README}"


@pytest.mark.parametrize("command", COMMANDS, ids=[c.id for c in COMMANDS])
def test_readme_command_runs(command, stack, settings, tmp_path):
    if command.skip:
        pytest.skip(f"README line {command.line}: {command.skip}")
    if command.shop_stack:
        pytest.skip(f"README line {command.line}: runs on the shop stack in tests/e2e")
    # The repository's declaration (the shop) from a scratch folder that takes the outputs.
    env = {**os.environ, "PIPELINE_HOME": str(stack.home), "PIPELINE_PROJECT": str(README.parent),
           "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "SCHEMA_REGISTRY_URL": settings.schema_registry_url}
    run(command, env, tmp_path)
