"""Making a cluster ready for the pipeline: topics from the catalog, schemas in the registry."""

from __future__ import annotations

from deploy import topics
from deploy.runtime.feedback import format_line
from schemas import registry
from schemas.config import ConnectionSettings


def apply_catalog(settings: ConnectionSettings, out=lambda line: None) -> None:
    """Idempotent: apply the topic catalog, then register every event schema."""
    plans = topics.apply(settings, topics.project_catalog())
    changed = [p for p in plans if p.action != "ok"]
    out(format_line("topics", f"{len(plans)} in catalog, {len(changed)} changed"))
    registered = registry.register_all(registry.connect(settings))
    out(format_line("schemas", f"{len(registered)} registered"))
