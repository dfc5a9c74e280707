"""`pipeline init` and `pipeline schemas new`: scaffolding for a user's Django project."""

from __future__ import annotations


def add_commands(subparsers) -> None:
    """Top-level commands (`init`)."""


def add_schema_commands(schema_subparsers) -> None:
    """Subcommands of `pipeline schemas` (`new`)."""
