"""Masking the fields a schema marks `"pii": true`, in every export unless `--unmask`.

Strings become MASK; maps and arrays keep their shape (keys, lengths) with masked leaves, so
an analyst can still count and join on non-personal fields. Other scalars become their type's
zero value, which keeps Avro and Parquet exports valid against the writer schema.
"""

from __future__ import annotations

MASK = "***"


def mask(record: dict, paths) -> dict:
    """Mask `paths` (from `decoding.pii_paths`) in `record`, in place; returns it."""
    for path in paths:
        _mask_path(record, path)
    return record


def _mask_path(node, path: tuple[str, ...]) -> None:
    if node is None or not path:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if rest:
                _mask_path(value, rest)
            else:
                node[key] = mask_value(value)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _mask_path(node[head], rest)
    else:
        node[head] = mask_value(node[head])


def mask_value(value):
    if value is None:
        return None
    if isinstance(value, str):
        return MASK
    if isinstance(value, bytes):
        return MASK.encode()
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return type(value)(0)
    return MASK
