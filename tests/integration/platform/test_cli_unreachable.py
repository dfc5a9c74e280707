"""Every `pipeline` subcommand, with nothing reachable and with the registry down: one error
line on stderr, no traceback, the documented exit code (0 ok, 1 failure, 3 unreachable).

The walk is over the real argparse tree: a new command fails this test until it has a row in
COMMANDS saying how to call it and what it must answer.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from deploy import cli, completion
from deploy.runtime.ports import free_port

ANY_OUTCOME = frozenset({0, 1})  # local work whose result depends on the machine, not the network
HANG_GUARD_S = 180
# librdkafka's own lines, and log records of the CLI's default format.
NOISE = re.compile(r"^%\d\||rdkafka#|^\d{4}-\d\d-\d\d \S+ (WARNING|ERROR|CRITICAL) ")


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    nothing_up: frozenset[int]  # broker and registry both unreachable
    registry_down: frozenset[int]  # the session's broker, a dead registry
    foreground: bool = False  # may run until stopped when it works: stopped after a while
    report: bool = False  # exit 1 is a verdict printed on stdout (unhealthy), not an error


def _codes(codes) -> frozenset[int]:
    return frozenset(codes) if isinstance(codes, set | frozenset) else frozenset({codes})


def case(argv: str, nothing_up, registry_down, **flags) -> Case:
    return Case(tuple(argv.split()), _codes(nothing_up), _codes(registry_down), **flags)


DEAD_URL = "http://127.0.0.1:{dead}"
# command path -> how to call it; {dead} is a port nobody listens on, {tmp} a scratch folder.
COMMANDS = {
    "completion": [case("completion bash", 0, 0)],
    "up": [case("up", 3, 3)],
    "down": [case("down", 0, 0)],
    "status": [case("status", {1, 3}, {1, 3}, report=True),
               case("status --json", {1, 3}, {1, 3}, report=True)],
    "init": [case("init --dir {tmp}/no-django-here", 1, 1)],
    "topics apply": [case("topics apply", 3, 0)],
    "topics list": [case("topics list", 3, 0)],
    "schemas register": [case("schemas register", 3, 3)],
    "schemas check": [case("schemas check", 3, 3)],
    # Another project than the shop: scaffolding must not write into the repository.
    "schemas new": [case("--project {tmp}/no-project schemas new E --topic t --key k", 1, 1)],
    "replay": [
        case("replay shop.orders --where total_cents>=0 --limit 1", 3, 3),
        case("replay shop.orders --limit 1 --out {tmp}/x.xlsx", 1, 1),
    ],
    "offsets reset": [case("offsets reset --group cli-unreachable --to-earliest", 3, 1)],
    "rebuild": [case("rebuild inventory --live-topic no-such-topic --timeout 5", 3, 1)],
    "worker": [case("worker notifications", 3, 3, foreground=True)],
    "dlq list": [case("dlq list", 3, 0)],
    "dlq show": [case("dlq show notifications", 3, 3)],
    "dlq redrive": [case("dlq redrive notifications", 3, ANY_OUTCOME)],
    "outbox status": [case("outbox status", ANY_OUTCOME, ANY_OUTCOME)],
    "manage": [case("manage check", ANY_OUTCOME, ANY_OUTCOME)],
    "scheduler": [case("scheduler", ANY_OUTCOME, ANY_OUTCOME, foreground=True)],
    # `streams run` execs a faust worker, which waits for its broker in the foreground and
    # reports to its own log; the queries are the CLI's part.
    "streams": [case(f"streams get inventory inventory SKU-1 --url {DEAD_URL}", 3, 3)],
    "trace": [case("trace 00000000-0000-0000-0000-000000000000", {1, 3}, {1, 3})],
    "lineage run": [case("lineage run", 3, 3, foreground=True)],
    "lineage recent": [case("lineage recent", ANY_OUTCOME, ANY_OUTCOME)],
    "console user": [case("console user cli-unreachable", ANY_OUTCOME, ANY_OUTCOME)],
    "topics export": [case("topics export --format strimzi --out {tmp}/topics.yaml", 0, 0)],
}


@functools.cache
def leaf_commands() -> tuple[str, ...]:
    tree = completion.command_tree(cli._parser())
    return tuple(sorted(path.removeprefix("pipeline ") for path, (subs, _) in tree.items()
                        if not subs and path != "pipeline"))


def test_every_command_has_a_row():
    missing = [path for path in leaf_commands() if path not in COMMANDS]
    assert not missing, (
        f"commands without a row in COMMANDS (how to call them with nothing reachable): "
        f"{missing}"
    )


def run(argv: list[str], env: dict, foreground: bool) -> subprocess.CompletedProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "deploy.cli", *argv], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        out, err = process.communicate(timeout=30 if foreground else HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        if not foreground:
            process.kill()
            raise
        process.terminate()  # it runs: what it printed so far is what counts
        out, err = process.communicate(timeout=60)
        return subprocess.CompletedProcess(argv, 0, out, err)
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


def check(result: subprocess.CompletedProcess, expected: frozenset[int],
          report: bool = False) -> list[str]:
    """What is wrong with one command's outcome (empty when right)."""
    problems = []
    name = " ".join(result.args)
    if "Traceback" in result.stderr:
        problems.append(f"{name}: a traceback:\n{result.stderr[-3000:]}")
    if result.returncode not in expected:
        problems.append(f"{name}: exit {result.returncode}, expected {sorted(expected)}; "
                        f"stderr:\n{result.stderr[-2000:]}")
    if result.returncode == 1 and report and not result.stderr.strip():
        return problems
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if "error:" in line]
        # Progress lines of long work may come first; client logs and retries may not.
        noise = [line for line in lines if NOISE.search(line)]
        if len(errors) != 1 or lines[-1] != errors[0] or noise:
            problems.append(f"{name}: expected one error line (last) on stderr and no client "
                            "logs, got:\n" + "\n".join(lines[:40]))
    return problems


def walk(env: dict, scenario: str, tmp_path) -> list[str]:
    dead = str(free_port())
    jobs = []
    for path, cases in COMMANDS.items():
        if path not in leaf_commands():
            continue  # a row for a command this checkout does not have (yet)
        for c in cases:
            argv = [a.format(dead=dead, tmp=tmp_path) for a in c.argv]
            jobs.append((argv, c, getattr(c, scenario)))
    # A few at a time: each one waits for its own timeouts, not for the CPU.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: (run(job[0], env, job[1].foreground), job), jobs))
    problems = []
    for result, (_argv, c, expected) in results:
        problems += check(result, expected, c.report)
    return problems


def _base_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAFKA_", "SCHEMA_REGISTRY_URL", "DATABASE_URL"))}
    env["PIPELINE_HOME"] = str(tmp_path / "home")
    (tmp_path / "no-django-here").mkdir()
    (tmp_path / "no-project").mkdir()
    return env


def test_with_nothing_reachable(tmp_path):
    env = _base_env(tmp_path)
    env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{free_port()}"
    env["SCHEMA_REGISTRY_URL"] = f"http://127.0.0.1:{free_port()}/apis/ccompat/v7"
    problems = walk(env, "nothing_up", tmp_path)
    assert not problems, "\n\n".join(problems)


@pytest.mark.usefixtures("stack")
def test_with_the_registry_down(tmp_path, settings):
    env = _base_env(tmp_path)
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
    env["SCHEMA_REGISTRY_URL"] = f"http://127.0.0.1:{free_port()}/apis/ccompat/v7"
    problems = walk(env, "registry_down", tmp_path)
    assert not problems, "\n\n".join(problems)
