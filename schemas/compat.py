"""Field-level explanation of Avro schema compatibility.

The registry gives a yes/no verdict; this module says *which field* breaks a reader, so that
`pipeline schemas check` can name it. `backward_problems(new, old)` lists what stops the new
schema (reader) from reading data written with the old one (writer), plus the project rule that
a field without a default is never removed (see SUBJECTS.md).
"""

from __future__ import annotations

_PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
}
_NO_DEFAULT = object()


def backward_problems(new: dict, old: dict) -> list[str]:
    """Problems reading `old`-written data with `new`, as "path: reason" strings."""
    return _compare(new, old, path=new.get("name", "record") if isinstance(new, dict) else "value")


def _type_name(schema) -> str:
    if isinstance(schema, dict):
        return (
            schema["type"]
            if schema["type"] not in ("record", "enum", "fixed")
            else schema.get("name", schema["type"])
        )
    if isinstance(schema, list):
        return "union"
    return schema


def _kind(schema) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return schema["type"] if isinstance(schema["type"], str) else _kind(schema["type"])
    return schema


def _compare(reader, writer, path: str) -> list[str]:
    if isinstance(writer, list):
        # Every branch the writer may have used must be readable.
        problems = []
        for branch in writer:
            problems += _compare(reader, branch, path)
        return problems
    if isinstance(reader, list):
        for branch in reader:
            if not _compare(branch, writer, path):
                return []
        return [f"{path}: type {_type_name(writer)} is not readable by union {reader!r}"]

    r_kind, w_kind = _kind(reader), _kind(writer)
    if r_kind == "record" and w_kind == "record":
        return _compare_records(reader, writer, path)
    if r_kind == "array" and w_kind == "array":
        return _compare(reader["items"], writer["items"], f"{path}[]")
    if r_kind == "map" and w_kind == "map":
        return _compare(reader["values"], writer["values"], f"{path}{{}}")
    if r_kind == "enum" and w_kind == "enum":
        missing = set(writer["symbols"]) - set(reader["symbols"])
        if missing and "default" not in reader:
            return [f"{path}: enum symbols removed without an enum default: {sorted(missing)}"]
        return []
    if r_kind in _PROMOTIONS.get(w_kind, {w_kind}) or r_kind == w_kind:
        return []
    return [f"{path}: type changed from {_type_name(writer)} to {_type_name(reader)}"]


def _compare_records(reader: dict, writer: dict, path: str) -> list[str]:
    problems = []
    writer_fields = {f["name"]: f for f in writer["fields"]}
    reader_names = set()
    for field in reader["fields"]:
        names = [field["name"], *field.get("aliases", [])]
        reader_names.update(names)
        match = next((writer_fields[n] for n in names if n in writer_fields), None)
        where = f"{path}.{field['name']}"
        if match is None:
            if field.get("default", _NO_DEFAULT) is _NO_DEFAULT:
                problems.append(f"{where}: new field has no default, so old records cannot fill it")
            continue
        problems += _compare(field["type"], match["type"], where)
    for name, field in writer_fields.items():
        if name not in reader_names and field.get("default", _NO_DEFAULT) is _NO_DEFAULT:
            problems.append(
                f"{path}.{name}: field removed although it has no default; "
                "give it a default in one release and remove it in a later one"
            )
    return problems
