"""One SCRAM password per principal, generated once per home and kept in a file only this user
can read (`<home>/security/credentials.json`)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from deploy.security.tls import _write_secret

MECHANISM = "SCRAM-SHA-512"
ITERATIONS = 8192


def ensure(path: Path, principals: list[str]) -> dict[str, str]:
    """{principal: password} for every name in `principals`, adding passwords for new ones."""
    known = load(path)
    missing = [p for p in principals if p not in known]
    if missing:
        known.update({p: secrets.token_urlsafe(24) for p in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_secret(path, json.dumps(known, indent=2).encode())
    return known


def load(path: Path) -> dict[str, str]:
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError) as exc:
        from schemas.errors import ConfigError

        raise ConfigError(
            f"{path} is not readable JSON ({exc}); restore it, or delete it with the stack down "
            "and the home's Kafka data removed so that `pipeline up --secure` starts over"
        ) from exc


def format_argument(user: str, password: str) -> str:
    """The `kafka-storage format --add-scram` value that creates `user` with the cluster."""
    if any(c in user + password for c in ',]="'):
        raise ValueError(f"user name or password of {user!r} holds a character SCRAM args forbid")
    return f"{MECHANISM}=[name={user},password={password}]"
