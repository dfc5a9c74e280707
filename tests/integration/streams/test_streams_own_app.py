"""A project's own stream app, not the shop's: declared, run by name, its table checked.

A throwaway project declares one event (PageViewed on `site.pageviews`) and one faust app,
`page_views_app.py` (next to this file), built only from the streams toolkit. The harness runs
it by its declared name against the session's broker and registry.
"""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from deploy.bootstrap import apply_catalog
from schemas import catalog, project
from schemas.catalog import event_schema
from schemas.serde import EventSerializer
from streams import cli
from streams.testing import WorkerProcess, free_port, publish, wait_until

pytestmark = pytest.mark.integration

APP_MODULE = Path(__file__).with_name("page_views_app.py")
PAGE_VIEWED = event_schema(
    "PageViewed", "site.events",
    [{"name": "page", "type": "string"}, {"name": "visitor", "type": "string"}],
)
TOPICS = """
[defaults]
partitions = 3
replication_factor = 1
cleanup_policy = "delete"
retention_ms = 604800000

[topics."site.pageviews"]
events = { PageViewed = "page" }
"""
DECLARATION = """
[tool.event-pipeline]
schemas = ["avro"]
topics = "topics.toml"

[tool.event-pipeline.streams]
views = { app = "page_views_app:app", table = "views" }
"""


@pytest.fixture(scope="module")
def site(settings, tmp_path_factory):
    """The throwaway project, its topic and schema applied; this process's project meanwhile."""
    root = tmp_path_factory.mktemp("site")
    (root / "avro").mkdir()
    (root / "avro" / "PageViewed.avsc").write_text(json.dumps(PAGE_VIEWED, indent=2))
    (root / "topics.toml").write_text(TOPICS)
    (root / "pyproject.toml").write_text(DECLARATION)
    shutil.copy(APP_MODULE, root / "page_views_app.py")
    declared = project.load(root / "pyproject.toml")
    project.use(declared)
    try:
        apply_catalog(settings)
        yield declared
    finally:
        project.use(None)


def page_viewed(page: str) -> dict:
    return {
        "event_id": str(uuid.uuid4()), "occurred_at": datetime.now(UTC), "aggregate_id": page,
        "aggregate_version": 1, "correlation_id": str(uuid.uuid4()), "causation_id": None,
        "producer": "site-tests", "page": page, "visitor": "v-1",
    }


def test_the_projects_app_runs_by_its_declared_name(site, settings, registry_client, tmp_path,
                                                     unique, capsys):
    assert catalog.event_type("PageViewed").topic == "site.pageviews"
    expected = {f"home-{unique}": 3, f"about-{unique}": 1}
    events = [("PageViewed", page_viewed(p)) for p, n in expected.items() for _ in range(n)]
    publish(settings, EventSerializer(registry_client), events)

    worker = WorkerProcess("views", settings, app_id=f"test-views-{unique}", workdir=tmp_path,
                           web_port=free_port(), project=site)
    worker.start()
    try:
        assert worker.get("/health").json()["app_id"] == f"test-views-{unique}"

        def table() -> dict | None:
            answers = {p: worker.get(f"/views/{p}") for p in expected}
            if any(r.status_code != 200 for r in answers.values()):
                return None
            counts = {p: r.json()["views"] for p, r in answers.items()}
            return counts if counts == expected else None

        assert wait_until(table, 90, "the views table to count every PageViewed",
                          log=worker.log) == expected
        # The generic query command, as `pipeline streams get views views <page> --url ...`.
        page = f"home-{unique}"
        assert cli.query("views", "views", page, url=worker.url) == 0
        assert json.loads(capsys.readouterr().out) == {"page": page, "views": 3}
    finally:
        worker.stop()
