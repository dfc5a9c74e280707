"""The console's files in PIPELINE_HOME: its database, its secret key and the dev credentials.

Secrets are written with mode 0600, once, and kept: a restarted console keeps its sessions and
the credentials `pipeline status --json` shows.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from schemas.config import paths_from_env

DEV_USERNAME = "operator"


@dataclass(frozen=True)
class ConsoleHome:
    dir: Path

    @classmethod
    def of(cls, pipeline_home: str | Path | None = None) -> ConsoleHome:
        return cls(Path(pipeline_home or paths_from_env().home) / "console")

    @property
    def database(self) -> Path:
        return self.dir / "console.sqlite3"

    @property
    def secret_file(self) -> Path:
        return self.dir / "secret_key"

    @property
    def credentials_file(self) -> Path:
        return self.dir / "credentials.json"

    @property
    def log(self) -> Path:
        return self.dir / "console.log"

    def secret_key(self) -> str:
        """The Django SECRET_KEY, made on first use."""
        if not self.secret_file.exists():
            _write_private(self.secret_file, secrets.token_urlsafe(50))
        return self.secret_file.read_text().strip()

    def credentials(self) -> dict | None:
        """{"username", "password"} of the local dev operator, None before the first start."""
        try:
            return json.loads(self.credentials_file.read_text())
        except (OSError, ValueError):
            return None

    def new_credentials(self) -> dict:
        """The dev operator's credentials, generated on first call and kept."""
        found = self.credentials()
        if found:
            return found
        made = {"username": DEV_USERNAME, "password": secrets.token_urlsafe(16)}
        _write_private(self.credentials_file, json.dumps(made))
        return made


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
