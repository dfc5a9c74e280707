"""How a stream app's worker process starts: `faust -A <app> worker` with the env that names the
app (STREAMS_APP) and the project (so the child imports the project's modules and catalog).

Used by `pipeline streams run`, `pipeline up` (streams/stack.py) and the test harness.
"""

from __future__ import annotations

import sys

from schemas import project as projects


def argv(target: str, loglevel: str = "info") -> list[str]:
    """`faust -A <target> worker` with this interpreter; `target` is "package.module:app".
    Run through `streams.cli`, which quiets the registry client's per-request logs first."""
    return [sys.executable, "-m", "streams.cli", "-A", target, "worker", "--loglevel", loglevel]


def declared_argv(name: str, project: projects.Project | None = None) -> list[str]:
    """The worker argv of the app declared as `name` (an error lists the declared ones)."""
    return argv((project or projects.current()).stream(name).app)


def env(name: str, project: projects.Project | None = None) -> dict[str, str]:
    """What the worker of app `name` needs in its environment besides its STREAMS_* settings."""
    return {**(project or projects.current()).env(), "STREAMS_APP": name}
