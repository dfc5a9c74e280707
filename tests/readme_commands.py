"""The `pipeline ...` commands the README shows in its bash blocks, and how to run one.

Used by tests/integration/platform/test_readme_commands.py (on the session's stack) and by
tests/e2e/test_shop_flow.py (the blocks marked `shop-stack`, on the running shop).

Skipped, each with its reason in the test id's skip message:
- commands with placeholders (`<name>`, `$VAR`, an all-caps word such as NAME);
- commands that start long-running or foreground processes (FOREGROUND) or change the
  project's files (SCAFFOLDING);
- every command of a block preceded by `<!-- readme-test: skip REASON -->` (a block that needs
  a running web app, stream apps or data the session does not have).
A line `<!-- readme-test: expect-exit N -->` before a block accepts exit N (e.g. 1 for a
`schemas check` example that demonstrates a failure) as long as the error is one clean line.
A block after `<!-- readme-test: shop-stack -->` needs the shop's running stack with data (replay
ranges, live groups, stream apps): the end-to-end shop test runs it.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\s*$")
MARKER = re.compile(r"<!--\s*readme-test:\s*(skip|expect-exit|shop-stack)\s*(.*?)\s*-->")
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
    shop_stack: bool = False

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
    shop_stack = bool(marker and marker[0] == "shop-stack")
    if skip is None and any(PLACEHOLDER.search(w) for w in argv):
        skip = "has a placeholder"
    commands = [w for w in argv if not w.startswith("-")]
    for table in (FOREGROUND, SCAFFOLDING):
        for prefix, reason in table.items():
            if skip is None and tuple(commands[: len(prefix)]) == prefix:
                skip = reason
    return Command(number, argv, skip, expect, shop_stack)


def run(command: Command, env: dict, cwd) -> None:
    """Run one README command; fail on a traceback or an unexpected exit code."""
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *command.argv], capture_output=True, text=True,
        env=env, cwd=cwd, timeout=600, stdin=subprocess.DEVNULL,
    )
    shown = f"README line {command.line}: pipeline {' '.join(command.argv)}"
    assert "Traceback" not in result.stderr, f"{shown}\n{result.stderr[-3000:]}"
    assert result.returncode == command.expect_exit, (
        f"{shown}: exit {result.returncode}\n{result.stderr[-2000:]}")


