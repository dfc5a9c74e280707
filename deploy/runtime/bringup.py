"""Everything `pipeline up` starts, for programs that hold a `Stack` of their own (cluster tests,
the soak benchmark): the broker(s) and registry, the catalog with the stack's replication, the
schemas, then the project's components."""

from __future__ import annotations

from deploy.runtime.feedback import Feedback, silent


def up_with_catalog(stack, only: set[str] | None = None, feedback: Feedback = silent) -> None:
    """Start the infrastructure, apply the catalog and schemas, then start the other components
    (those in `only`, when given). The replication factor is the stack's shape, whatever
    PIPELINE_HOME the calling process has."""
    from deploy import topics
    from deploy.stack import INFRASTRUCTURE
    from schemas import registry

    with stack.locked(feedback):
        stack.up(only=INFRASTRUCTURE, feedback=feedback)
        topics.apply(stack.settings, topics.project_catalog(),
                     replication_factor=stack.shape.replication_factor)
        registry.register_all(registry.connect(stack.settings))
        rest = {c.name for c in stack.components()
                if c.name not in INFRASTRUCTURE and (only is None or c.name in only)}
        stack.up(only=rest, feedback=feedback)
