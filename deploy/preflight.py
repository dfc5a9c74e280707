"""Checks of the declaration that `pipeline up` runs before it starts anything.

A worker handler or stream app whose module cannot be found would otherwise surface only as a
component that dies on start; here it is one error naming the declaration key. Modules are
located, not imported: importing a handler module may need Django set up first.
"""

from __future__ import annotations

import importlib.util

from schemas import project as projects


def missing_modules(project: projects.Project) -> list[str]:
    """One line per declared dotted path whose module cannot be found."""
    project.activate()
    declared = [("web", project.web), ("django_settings", project.django_settings)]
    declared += [(f"workers.{w.name}", w.handler) for w in project.workers.values()]
    declared += [(f"streams.{s.name}", s.app) for s in project.streams.values()]
    declared += [("tasks", module) for module in project.tasks]
    problems = []
    for key, path in declared:
        if not path:
            continue
        module = path.partition(":")[0] if ":" in path else path
        if key in ("web", "django_settings", "tasks") or ":" in path:
            candidates = [module]
        else:  # "package.module.attribute" or a module named in full
            candidates = [module, module.rpartition(".")[0]]
        if not any(_found(name) for name in candidates if name):
            problems.append(f"`{key}` = {path!r}: module {candidates[-1]!r} not found")
    return problems


def check(project: projects.Project) -> None:
    problems = missing_modules(project)
    if problems:
        raise projects.ProjectError(
            f"{project.source}: " + "; ".join(problems)
            + ". Check the dotted paths, and that the packages are installed or lie under "
            f"the project's root ({project.root})"
        )


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing or not a package
        return False
