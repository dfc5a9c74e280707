"""Optional parts of the distribution: which extra brings which package.

A Django project that only publishes installs the core; stream apps, replay exports and the
local stack's servers come with extras (`pip install 'event-pipeline[streams]'`). A command
that needs an extra calls `require()` first, so a missing one is reported by name instead of
as an ImportError deep inside a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from schemas.errors import PipelineError

DISTRIBUTION = "event-pipeline"

# The PyPI project behind each import name that an extra provides (for the message only).
_PACKAGES = {
    "faust": "faust-streaming",
    "aiokafka": "aiokafka",
    "rocksdict": "rocksdict",
    "pyarrow": "pyarrow",
    "pandas": "pandas",
    "rich": "rich",
    "gunicorn": "gunicorn",
    "aiosmtpd": "aiosmtpd",
    "testcontainers": "testcontainers",
    "rest_framework": "djangorestframework",
    "psycopg": "psycopg",
}


class MissingExtra(PipelineError, ImportError):
    """A feature needs a package of an extra that is not installed; names the pip command."""

    def __init__(self, module: str, extra: str, purpose: str):
        self.module = module
        self.extra = extra
        self.purpose = purpose
        package = _PACKAGES.get(module.partition(".")[0], module)
        super().__init__(
            f"{purpose} needs {package}: pip install '{DISTRIBUTION}[{extra}]'", name=module
        )


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or raise MissingExtra naming `extra` and what it was needed for.

    `purpose` says who needs it, e.g. "`pipeline streams run`".
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Any part of the extra's packages absent (the module or one of its dependencies):
        # installing the extra brings them. Other ImportErrors are bugs and propagate.
        raise MissingExtra(module, extra, purpose) from exc
