"""`--where` clauses: `FIELD OP VALUE`, all of them must hold (AND).

OP is one of `=` (`==`), `!=`, `>`, `>=`, `<`, `<=`, `~` (contains). `=` and `!=` accept a
comma-separated list (`event_type=InvoiceIssued,InvoicePaid`). FIELD is `event_type`, `key` or a
payload field; dots reach into nested records, and a path through an array matches when any
item matches (`lines.sku=SKU-1`). The value is compared as the record's value type (numbers as
numbers, timestamps as ISO datetimes). A record without the field does not match.
"""

from __future__ import annotations

import difflib
import operator
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from consumers.replay.errors import BadRangeError, FilterError
from consumers.replay.ranges import parse_bound

ENVELOPE_FIELDS = ("event_type", "key")
_CLAUSE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|!=|>=|<=|=|>|<|~)\s*(.*?)\s*$", re.S)
_OPS = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_MISSING = object()


@dataclass
class Clause:
    field: str
    op: str
    text: str
    _coerced: dict = field(default_factory=dict, repr=False)

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.field.split("."))

    @property
    def on_envelope(self) -> bool:
        return self.field in ENVELOPE_FIELDS

    def holds(self, value) -> bool:
        if isinstance(value, list):
            return any(self.holds(item) for item in value)
        if value is None:
            return self.op == "!=" and self.text.lower() not in ("null", "none", "")
        if self.op == "~":
            return self.text in str(value)
        wanted = self._wanted(type(value))
        if self.op in ("=", "=="):
            return value in wanted
        if self.op == "!=":
            return value not in wanted
        return _OPS[self.op](value, wanted[0])

    def _wanted(self, kind: type) -> tuple:
        cached = self._coerced.get(kind)
        if cached is None:
            parts = self.text.split(",") if self.op in ("=", "==", "!=") else [self.text]
            cached = self._coerced[kind] = tuple(_coerce(p.strip(), kind, self) for p in parts)
        return cached


def parse(clauses: list[str] | None) -> list[Clause]:
    parsed = []
    for text in clauses or ():
        match = _CLAUSE.match(text)
        if match is None:
            raise FilterError(
                f"cannot read --where {text!r}; write FIELD OP VALUE with OP one of "
                "= != > >= < <= ~, e.g. --where event_type=InvoiceIssued --where amount_cents>1000"
            )
        parsed.append(Clause(*match.groups()))
    return parsed


def check_fields(clauses: list[Clause], known_paths: set[tuple[str, ...]], topic: str) -> None:
    """FilterError for a clause naming a field that no schema of `topic` has."""
    known = {".".join(p) for p in known_paths} | set(ENVELOPE_FIELDS)
    for clause in clauses:
        if clause.field not in known:
            close = difflib.get_close_matches(clause.field, sorted(known), n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise FilterError(
                f"--where {clause.field!r}: no event on topic {topic!r} has that field; "
                f"{hint}known fields: {', '.join(sorted(known))}"
            )


def field_paths(schema, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every dotted field path of an Avro schema (arrays and unions are looked through)."""
    found: set[tuple[str, ...]] = set()
    if isinstance(schema, list):
        for branch in schema:
            found |= field_paths(branch, prefix)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            for f in schema.get("fields", ()):
                path = prefix + (f["name"],)
                found.add(path)
                found |= field_paths(f["type"], path)
        elif kind == "array":
            found |= field_paths(schema.get("items"), prefix)
        elif isinstance(kind, dict | list):
            found |= field_paths(kind, prefix)
    return found


def matches(clauses: list[Clause], event_type: str | None, key, value: dict | None) -> bool:
    for clause in clauses:
        if clause.field == "event_type":
            found = event_type
        elif clause.field == "key":
            found = key
        else:
            found = _lookup(value, clause.path)
            if found is _MISSING:
                return False
        if not clause.holds(found):
            return False
    return True


def _lookup(node, path: tuple[str, ...]):
    for i, name in enumerate(path):
        if isinstance(node, list):
            items = [_lookup(item, path[i:]) for item in node]
            return [item for item in items if item is not _MISSING]
        if not isinstance(node, dict) or name not in node:
            return _MISSING
        node = node[name]
    return node


def _coerce(text: str, kind: type, clause: Clause):
    try:
        if kind is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind is datetime:
            bound = parse_bound(text, "beginning")
            if not bound.is_time:
                raise ValueError(text)
            return datetime.fromtimestamp(bound.value / 1000, UTC)
        if kind in (int, float):
            return kind(text)
        if kind is bytes:
            return text.encode()
        return text
    except (ValueError, TypeError, BadRangeError) as exc:
        raise FilterError(
            f"--where {clause.field}{clause.op}{text}: {text!r} is not a valid "
            f"{kind.__name__} for that field"
        ) from exc
