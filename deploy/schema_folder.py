"""`pipeline schemas check --schemas-dir DIR`: the folder must be what it claims to be.

A mistyped path, an empty folder or a broken `.avsc` must fail CI naming it, never pass as
"unchanged" (the check would otherwise fall back to the catalog's own files).
"""

from __future__ import annotations

import json
from pathlib import Path

from schemas.errors import PipelineError


class SchemaFolderError(PipelineError):
    """--schemas-dir names no folder of valid catalog schemas; the message names what."""


def check(folder: Path, catalog_files: dict[str, Path]) -> list[Path]:
    """The `.avsc` files of `folder` after checking each; `catalog_files` maps the catalog's
    file names to their paths. Raises SchemaFolderError naming the folder or the file."""
    known = ", ".join(sorted(catalog_files)) or "none"
    if not folder.exists():
        raise SchemaFolderError(
            f"--schemas-dir {folder} does not exist; give the folder holding your changed "
            f".avsc files (the catalog's: {known})"
        )
    if not folder.is_dir():
        raise SchemaFolderError(f"--schemas-dir {folder} is not a folder; give the folder "
                                "holding the .avsc files")
    files = sorted(folder.glob("*.avsc"))
    if not files:
        raise SchemaFolderError(
            f"--schemas-dir {folder} holds no .avsc files; give the folder holding your "
            f"changed schemas (file names as in the catalog: {known})"
        )
    unknown = [f.name for f in files if f.name not in catalog_files]
    if unknown:
        raise SchemaFolderError(
            f"--schemas-dir {folder}: {', '.join(unknown)} match no catalog schema, so they "
            f"would not be checked; name them as in the catalog ({known}), or add the event "
            "to the project's schema folders first"
        )
    for path in files:
        _check_file(path)
    return files


def _check_file(path: Path) -> None:
    from fastavro.schema import SchemaParseException, parse_schema

    try:
        schema = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SchemaFolderError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); fix "
            "the file"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaFolderError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(schema, dict) or schema.get("type") != "record" or not schema.get("name"):
        raise SchemaFolderError(f"{path}: an event schema must be one Avro record with a `name`")
    try:
        parse_schema(schema)
    except (SchemaParseException, ValueError, TypeError, KeyError) as exc:
        raise SchemaFolderError(f"{path}: not a valid Avro schema ({exc}); fix the file") from None
