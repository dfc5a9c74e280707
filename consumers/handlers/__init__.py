"""The project's workers: handlers declared under `[tool.event-pipeline.workers]`."""

from __future__ import annotations

from schemas import project as projects
from schemas.errors import PipelineError


class UnknownWorker(PipelineError):
    """No declared worker has this name."""


def worker_names(project: projects.Project | None = None) -> list[str]:
    return list((project or projects.current()).workers)


def make_handler(name: str, project: projects.Project | None = None):
    """A new handler of the declared worker `name`: its class or factory called with the
    declared options as keyword arguments."""
    project = project or projects.current()
    if name not in project.workers:
        raise UnknownWorker(
            f"no worker named {name!r}; declared workers: {', '.join(project.workers) or '(none)'}"
            f" (see [tool.event-pipeline.workers] in {project.source})"
        )
    spec = project.workers[name]
    factory = projects.import_object(spec.handler, f"workers.{name}", project)
    try:
        return factory(**spec.options)
    except TypeError as exc:
        raise projects.ProjectError(
            f"workers.{name}: {spec.handler} does not take the declared options "
            f"{sorted(spec.options)} ({exc}); fix [tool.event-pipeline.workers.{name}]"
        ) from exc
