"""The indexer's bounds from the environment, and one metrics page for its workers."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from consumers.lineage import metrics as lineage_metrics
from consumers.lineage.settings import from_env
from consumers.metrics import WorkerMetrics
from schemas.errors import ConfigError


def test_defaults_and_variables():
    assert from_env({}).max_rows == 1_000_000 and from_env({}).max_days == 7
    bounds = from_env({"PIPELINE_LINEAGE_MAX_ROWS": "10", "PIPELINE_LINEAGE_MAX_DAYS": "0.5"})
    assert (bounds.max_rows, bounds.max_age_ms) == (10, 43_200_000)
    assert bounds.replace(max_rows=None, max_days=2).max_days == 2


@pytest.mark.parametrize("environ, named", [
    ({"PIPELINE_LINEAGE_MAX_ROW": "1"}, "unknown variable PIPELINE_LINEAGE_MAX_ROW"),
    ({"PIPELINE_LINEAGE_MAX_ROWS": "many"}, "PIPELINE_LINEAGE_MAX_ROWS='many'"),
    ({"PIPELINE_LINEAGE_MAX_ROWS": "0"}, "max_rows must be > 0"),
])
def test_bad_variables_are_named(environ, named):
    with pytest.raises(ConfigError, match=named):
        from_env(environ)


def test_merged_page_has_one_family_per_name():
    from prometheus_client import CollectorRegistry

    first, second = WorkerMetrics("lineage", "lineage"), WorkerMetrics("fx", "lineage-effects")
    own = lineage_metrics.LineageMetrics()
    own.events.inc(3)
    merged = CollectorRegistry(auto_describe=False)
    merged.register(lineage_metrics._Merged([own.registry, first.registry, second.registry]))
    text = generate_latest(merged).decode()
    assert text.count("# TYPE pipeline_worker_records_total counter") == 1
    assert 'pipeline_worker_ready{group="lineage-effects",worker="fx"} 0.0' in text
    assert "pipeline_lineage_events_indexed_total 3.0" in text
