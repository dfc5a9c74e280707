"""The stack home's Django SECRET_KEY: generated on first use, kept in a 0600 file, reused."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def ensure_secret_key(path: Path) -> Path:
    """Create `path` with a new random key unless it exists; return it.

    Safe against concurrent callers: the key is written to a private temporary file that is
    then hard-linked into place, so a reader never sees a partly written key and the first
    writer wins.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(64) + "\n")
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    # A key file someone else made readable is tightened, not trusted as is.
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    return path
