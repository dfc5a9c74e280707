"""Generic code names nothing of the shop: the shop is an example that uses only the public
extension points, so every shop topic and event name lives in the shop's own folders."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
AREAS = ("schemas", "producer_django", "consumers", "streams", "deploy")
# The shop's own code: its Django project and apps, handlers, stream apps, schemas and catalog.
SHOP = ("producer_django/shop", "consumers/shop", "streams/shop", "schemas/shop", "deploy/shop")


def _shop_names() -> set[str]:
    with open(REPO / "deploy" / "shop" / "topics.toml", "rb") as fh:
        catalog = tomllib.load(fh)["topics"]
    names = set(catalog)
    for entry in catalog.values():
        names |= set(entry.get("events", {}))
    return names


def _generic_files():
    for area in AREAS:
        for path in sorted((REPO / area).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            if not relative.startswith(SHOP):
                yield relative, path.read_text()


def test_generic_modules_name_no_shop_topic_or_event():
    pattern = re.compile(
        r"(?<![\w.])(" + "|".join(re.escape(n) for n in sorted(_shop_names())) + r")(?![\w])"
    )
    offenders = [
        f"{relative}:{number}: {line.strip()}"
        for relative, text in _generic_files()
        for number, line in enumerate(text.splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, "shop names in generic code:\n" + "\n".join(offenders)


def test_generic_modules_import_nothing_of_the_shop():
    pattern = re.compile(r"^\s*(from|import)\s+[\w.]*\bshop\b", re.MULTILINE)
    offenders = [relative for relative, text in _generic_files() if pattern.search(text)]
    assert not offenders, "generic modules importing shop code: " + ", ".join(offenders)
