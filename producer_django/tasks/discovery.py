"""Finding the task modules: those declared (`tasks = [...]`) and the `tasks.py` of every
installed Django app (like Celery's `autodiscover_tasks`).

A module that raises on import does not stop the worker: it is reported, and a request for
one of its tasks fails with that error (TaskModuleBroken) and goes to the dead letters.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging

from schemas import project as projects

logger = logging.getLogger(__name__)


def task_modules(project: projects.Project) -> list[str]:
    from django.apps import apps

    modules = list(project.tasks)
    for app in apps.get_app_configs():
        candidate = f"{app.name}.tasks"
        try:
            found = importlib.util.find_spec(candidate) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            modules.append(candidate)
    return list(dict.fromkeys(modules))


def load(project: projects.Project) -> dict[str, str]:
    """Import every task module; returns {module: error} for those that failed."""
    project.activate()
    broken = {}
    for module in task_modules(project):
        try:
            importlib.import_module(module)
        except Exception as exc:  # any error of the user's module, reported per task
            broken[module] = f"{type(exc).__name__}: {exc}"
            logger.error("task module %s failed to import: %s; its tasks go to the dead "
                         "letters until it is fixed", module, broken[module])
    return broken
