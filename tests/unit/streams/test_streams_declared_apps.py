"""Stream apps as plug-ins: started, queried and rebuilt by their declared name."""

from pathlib import Path

import pytest

from consumers.replay.rebuild import NotRebuildable, rebuildable
from schemas import project
from streams import cli, worker

DECLARATION = """
[tool.event-pipeline]
schemas = ["avro"]
topics = "topics.toml"

[tool.event-pipeline.streams]
revenue = { app = "billing.streams:app", table = "totals", output_topic = "billing.totals" }
audit = "billing.audit:app"
"""


@pytest.fixture
def billing(tmp_path: Path):
    (tmp_path / "avro").mkdir()
    (tmp_path / "topics.toml").write_text("")
    (tmp_path / "pyproject.toml").write_text(DECLARATION)
    declared = project.load(tmp_path / "pyproject.toml")
    project.use(declared)
    yield declared
    project.use(None)


def test_a_worker_runs_the_declared_app_and_knows_its_name(billing):
    argv = worker.declared_argv("revenue")
    assert argv[1:6] == ["-m", "streams.cli", "-A", "billing.streams:app", "worker"]
    env = worker.env("revenue")
    assert env["STREAMS_APP"] == "revenue"
    assert env[project.ENV_VAR] == str(billing.root)
    with pytest.raises(project.ProjectError, match="declared apps: revenue, audit"):
        worker.declared_argv("nope")


def test_the_short_query_form_goes_to_the_app_that_declares_a_table(billing):
    from streams.stack import query_app

    assert query_app() == "revenue"
    parsed = cli._parser("totals").parse_args(["EUR", "--url", "http://x"])
    assert (parsed.key, parsed.url) == ("EUR", "http://x")
    parsed = cli._parser("get").parse_args(["audit", "entries", "42"])
    assert (parsed.app, parsed.view, parsed.key, parsed.url) == ("audit", "entries", "42", None)


def test_rebuild_needs_the_table_and_output_topic_declared(billing):
    assert rebuildable("revenue").output_topic == "billing.totals"
    with pytest.raises(NotRebuildable, match="table.*output_topic") as err:
        rebuildable("audit")
    assert "audit = { app = \"billing.audit:app\"" in str(err.value)
