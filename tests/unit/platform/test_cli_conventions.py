"""CLI conventions: --version, documented exit codes, completion, log lines, global options."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import textwrap

import pytest

from deploy import cli, completion, logs


@pytest.fixture(scope="module")
def parser():
    return cli._parser()


def test_version_comes_from_the_installed_distribution(capsys, parser):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        parser.parse_args(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"pipeline {version('event-pipeline')}"


def test_help_documents_exit_codes_and_where_connections_come_from(parser):
    text = parser.format_help()
    for code in ("0 ok", "1 failure", "2 usage", "3 unreachable"):
        assert code in text
    order = [text.index(word) for word in
             ("--bootstrap-servers", "KAFKA_BOOTSTRAP_SERVERS", "local stack of")]
    assert order == sorted(order)


def test_global_options_work_before_and_after_the_command(parser):
    before = parser.parse_args(["-v", "--bootstrap-servers", "b:1", "dlq", "list"])
    after = parser.parse_args(["dlq", "list", "-v", "--bootstrap-servers", "b:1",
                               "--log-format", "json"])
    neither = parser.parse_args(["dlq", "list"])
    assert (before.verbose, before.bootstrap_servers) == (True, "b:1")
    assert (after.verbose, after.bootstrap_servers, after.log_format) == (True, "b:1", "json")
    assert (neither.verbose, neither.bootstrap_servers, neither.log_format) == (
        False, None, "text")


def test_the_command_tree_has_nested_commands_and_their_options(parser):
    tree = completion.command_tree(parser)
    assert {"replay", "offsets", "dlq", "topics", "schemas", "completion"} <= set(
        tree["pipeline"][0])
    assert set(tree["pipeline dlq"][0]) == {"list", "show", "redrive"}
    assert "--group" in tree["pipeline offsets reset"][1]
    assert "--version" in tree["pipeline"][1]


def _complete(script: str, *words: str) -> list[str]:
    program = script + textwrap.dedent(f"""
        COMP_WORDS=({' '.join(repr(w) for w in words)})
        COMP_CWORD={len(words) - 1}
        _pipeline_complete
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """)
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_bash_completion_walks_nested_subcommands(parser):
    script = completion.script(parser, "bash")
    assert _complete(script, "pipeline", "dl") == ["dlq"]
    assert sorted(_complete(script, "pipeline", "dlq", "")) == ["list", "redrive", "show"]
    assert _complete(script, "pipeline", "offsets", "reset", "--gr") == ["--group"]
    # Global options and their values do not derail the walk.
    assert _complete(script, "pipeline", "-v", "schemas", "check", "--schemas-d") == [
        "--schemas-dir"]


def test_zsh_completion_is_generated_from_the_same_tree(parser):
    script = completion.script(parser, "zsh")
    assert script.startswith("#compdef pipeline")
    assert '"pipeline dlq") echo "list redrive show"' in script
    assert "compdef _pipeline pipeline" in script


def test_text_logs_carry_time_level_component_and_logger():
    out = io.StringIO()
    logs.configure(component="worker-notifications", level=logging.INFO, stream=out)
    try:
        logging.getLogger("consumers.runtime").info("assigned %d partitions", 3)
    finally:
        logs.configure()
    line = out.getvalue().strip()
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO worker-notifications consumers.runtime: "
        r"assigned 3 partitions", line), line


def test_json_logs_are_one_object_per_line():
    out = io.StringIO()
    logs.configure(component="pipeline", level=logging.INFO, fmt="json", stream=out)
    try:
        logging.getLogger("deploy").warning("two\nlines")
        logging.getLogger("deploy").info("second")
    finally:
        logs.configure()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["level"] == "WARNING" and first["component"] == "pipeline"
    assert first["logger"] == "deploy" and first["message"] == "two\nlines"
    assert first["time"].endswith("+00:00")


def test_registry_request_logs_are_quieted_unless_verbose():
    logs.configure(level=logging.INFO)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    logs.configure()


def test_librdkafka_lines_go_to_debug_never_to_stderr(caplog):
    from schemas.config import ConnectionSettings

    conf = ConnectionSettings().kafka_conf()
    with caplog.at_level(logging.DEBUG, logger="librdkafka"):
        conf["logger"].log(logging.ERROR, "%s|%s| Connect failed", "FAIL", "rdkafka#consumer-1")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, "[ERROR] FAIL|rdkafka#consumer-1| Connect failed")]
