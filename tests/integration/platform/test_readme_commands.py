"""Every `pipeline ...` command the README shows in a bash block runs on the session's stack:
no traceback, and exit 0.

Skipped, each with its reason in the test id's skip message:
- commands with placeholders (`<name>`, `$VAR`, an all-caps word such as NAME);
- commands that start long-running or foreground processes (FOREGROUND) or change the
  project's files (SCAFFOLDING);
- every command of a block preceded by `<!-- readme-test: skip REASON -->` (a block that needs
  a running web app, stream apps or data the session does not have).
A line `<!-- readme-test: expect-exit N -->` before a block accepts exit N (e.g. 1 for a
`schemas check` example that demonstrates a failure) as long as the error is one clean line.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[3] / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"<!--\s*readme-test:\s*(skip|expect-exit)\s*(.*?)\s*-->")
PLACEHOLDER = re.compile(r"<[^>]+>|\$\w|\$\{|^[A-Z][A-Z_]{2,}$|^\[.*\]$")
FOREGROUND = {
    ("up",): "starts the whole local stack (the session runs its own)",
    ("down",): "stops the local stack",
    ("worker",): "runs a worker in the foreground until stopped",
    ("scheduler",): "runs the scheduler in the foreground until stopped",
    ("streams", "run"): "runs a faust worker in the foreground until stopped",
}
SCAFFOLDING = {
    ("init",): "writes the declaration into the current project",
    ("schemas", "new"): "writes a schema into the current project",
}


@dataclass(frozen=True)
class Command:
    line: int
    argv: tuple[str, ...]  # after `pipeline`
    skip: str | None = None
    expect_exit: int = 0

    @property
    def id(self) -> str:
        return f"L{self.line}:" + " ".join(self.argv)[:60]


def readme_commands(text: str) -> list[Command]:
    commands = []
    marker: tuple[str, str] | None = None
    in_block = runnable = False
    pending = ""
    for number, raw in enumerate(text.splitlines(), 1):
        fence = FENCE.match(raw)
        if fence and not in_block:
            in_block, runnable = True, fence.group(1) in ("bash", "sh", "shell", "console")
            block_marker, marker = marker, None
            continue
        if fence and in_block:
            in_block = False
            continue
        if not in_block:
            found = MARKER.search(raw)
            if found:
                marker = (found.group(1), found.group(2))
            elif raw.strip():
                marker = None
            continue
        if not runnable:
            continue
        line = pending + raw.rstrip()
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        for part in re.split(r"&&|;", line):
            command = _command(number, part, block_marker)
            if command is not None:
                commands.append(command)
    return commands


def _command(number: int, text: str, marker) -> Command | None:
    text = text.split("|")[0].strip()  # `pipeline replay ... | jq ...`: the pipeline part
    text = re.sub(r"^\$\s+", "", text)
    try:
        words = shlex.split(text, comments=True)
    except ValueError:
        return None
    if not words or words[0] != "pipeline":
        return None
    argv = tuple(words[1:])
    expect = 0
    skip = None
    if marker and marker[0] == "skip":
        skip = marker[1] or "marked as not runnable in the README"
    elif marker and marker[0] == "expect-exit":
        expect = int(marker[1].split()[0])
    if skip is None and any(PLACEHOLDER.search(w) for w in argv):
        skip = "has a placeholder"
    commands = [w for w in argv if not w.startswith("-")]
    for table in (FOREGROUND, SCAFFOLDING):
        for prefix, reason in table.items():
            if skip is None and tuple(commands[: len(prefix)]) == prefix:
                skip = reason
    return Command(number, argv, skip, expect)


COMMANDS = readme_commands(README.read_text()) if README.exists() else []


def test_the_readme_shows_pipeline_commands():
    assert COMMANDS, f"no `pipeline` command found in the bash blocks of {README}"


@pytest.mark.parametrize("command", COMMANDS, ids=[c.id for c in COMMANDS])
def test_readme_command_runs(command, stack, settings, tmp_path):
    if command.skip:
        pytest.skip(f"README line {command.line}: {command.skip}")
    # The repository's declaration (the shop) from a scratch folder that takes the outputs.
    env = {**os.environ, "PIPELINE_HOME": str(stack.home), "PIPELINE_PROJECT": str(README.parent),
           "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
           "SCHEMA_REGISTRY_URL": settings.schema_registry_url}
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *command.argv], capture_output=True, text=True,
        env=env, cwd=tmp_path, timeout=300, stdin=subprocess.DEVNULL,
    )
    shown = f"README line {command.line}: pipeline {' '.join(command.argv)}"
    assert "Traceback" not in result.stderr, f"{shown}\n{result.stderr[-3000:]}"
    assert result.returncode == command.expect_exit, (
        f"{shown}: exit {result.returncode}\n{result.stderr[-2000:]}")


def test_the_extraction_handles_what_a_readme_contains():
    text = "\n".join([
        "```bash",
        "pipeline up && pipeline status   # both",
        "pipeline replay t --out x.csv | jq .",
        "pipeline schemas new E --topic t \\",
        "  --key k",
        "pipeline dlq show NAME",
        "echo not ours",
        "```",
        "<!-- readme-test: skip needs the web app -->",
        "```bash",
        "pipeline manage check",
        "```",
        "<!-- readme-test: expect-exit 1 -->",
        "```bash",
        "pipeline schemas check --schemas-dir changed/",
        "```",
        "```python",
        "pipeline = 'not a command'",
        "```",
    ])
    found = {c.argv: c for c in readme_commands(text)}
    assert set(found) == {("up",), ("status",), ("replay", "t", "--out", "x.csv"),
                          ("schemas", "new", "E", "--topic", "t", "--key", "k"),
                          ("dlq", "show", "NAME"), ("manage", "check"),
                          ("schemas", "check", "--schemas-dir", "changed/")}
    assert found[("status",)].skip is None
    assert found[("replay", "t", "--out", "x.csv")].skip is None
    assert "stack" in found[("up",)].skip
    assert "placeholder" in found[("dlq", "show", "NAME")].skip
    assert "project" in found[("schemas", "new", "E", "--topic", "t", "--key", "k")].skip
    assert found[("manage", "check")].skip == "needs the web app"
    assert found[("schemas", "check", "--schemas-dir", "changed/")].expect_exit == 1
