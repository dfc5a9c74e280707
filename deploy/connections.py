"""Where every command's connections come from: one order, and the source of each value.

Per value, the first that gives one wins:
1. an explicit flag: --bootstrap-servers, --schema-registry-url, --database-url;
2. the environment: KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL, DATABASE_URL
   (KAFKA_CONF_<KEY> variables add librdkafka keys, e.g. for a secured cluster);
3. the local stack of PIPELINE_HOME (the addresses its state file keeps).
The database has no local-stack value: without a flag or DATABASE_URL the project's Django
settings decide.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from schemas import config

ORDER = (
    "Connections, per value: the flags --bootstrap-servers, --schema-registry-url, "
    "--database-url; else the environment (KAFKA_BOOTSTRAP_SERVERS, SCHEMA_REGISTRY_URL, "
    "DATABASE_URL; KAFKA_CONF_<KEY> adds librdkafka keys); else the local stack of "
    "PIPELINE_HOME. -v prints which one won."
)
FLAG = "flag"
ENVIRONMENT = "environment"
LOCAL_STACK = "local stack"


@dataclass(frozen=True)
class Source:
    kind: str  # FLAG, ENVIRONMENT, LOCAL_STACK, or "default"
    detail: str  # the flag or variable name, or the stack's home

    def describe(self) -> str:
        if self.kind == LOCAL_STACK:
            return f"from the local stack in {self.detail}"
        if self.kind == "default":
            return self.detail
        return f"from {self.detail}"


@dataclass(frozen=True)
class Resolved:
    settings: config.ConnectionSettings
    sources: Mapping[str, Source]  # "bootstrap_servers", "schema_registry_url", "database_url"

    def describe(self) -> list[str]:
        """One line per value, e.g. `bootstrap servers 127.0.0.1:9092 (from the local stack
        in ~/.local/state/event-pipeline)`."""
        s = self.settings
        lines = [
            f"bootstrap servers {s.bootstrap_servers} "
            f"({self.sources['bootstrap_servers'].describe()})",
            f"schema registry {s.schema_registry_url} "
            f"({self.sources['schema_registry_url'].describe()})",
            f"database {s.database_url or '-'} ({self.sources['database_url'].describe()})",
        ]
        if s.kafka_extra:
            keys = ", ".join(sorted(s.kafka_extra))
            lines.append(f"librdkafka settings {keys} (from KAFKA_CONF_* variables)")
        return lines

    def source_of(self, address: str) -> Source | None:
        """Which source gave `address` (a bootstrap server list or registry URL), if any."""
        s = self.settings
        if address and address in s.bootstrap_servers:
            return self.sources["bootstrap_servers"]
        if address and address.rstrip("/") in s.schema_registry_url:
            return self.sources["schema_registry_url"]
        return None


def resolve(
    bootstrap_servers: str | None = None,
    schema_registry_url: str | None = None,
    database_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stack=None,
) -> Resolved:
    """The connection settings a command uses, and where each value came from.

    `stack` (a deploy.stack.Stack) is built only when a value is left to the local stack.
    """
    env = config.from_env(environ)
    given_by_env = config.external_services(environ)
    sources: dict[str, Source] = {}
    settings = env

    def local_stack():
        nonlocal stack
        if stack is None:
            from deploy.stack import Stack

            stack = Stack()
        return stack

    if bootstrap_servers:
        settings = replace(settings, bootstrap_servers=bootstrap_servers)
        sources["bootstrap_servers"] = Source(FLAG, "--bootstrap-servers")
    elif "kafka" in given_by_env:
        sources["bootstrap_servers"] = Source(ENVIRONMENT, "KAFKA_BOOTSTRAP_SERVERS")
    else:
        home = local_stack()
        # The local stack's brokers with its client keys (a secure stack's admin credentials);
        # KAFKA_CONF_* keys of the environment still win.
        settings = replace(
            settings, bootstrap_servers=home.settings.bootstrap_servers,
            kafka_extra={**home.settings.kafka_extra, **settings.kafka_extra},
        )
        sources["bootstrap_servers"] = Source(LOCAL_STACK, _short(home.home))

    if schema_registry_url:
        settings = replace(settings, schema_registry_url=schema_registry_url)
        sources["schema_registry_url"] = Source(FLAG, "--schema-registry-url")
    elif "registry" in given_by_env:
        sources["schema_registry_url"] = Source(ENVIRONMENT, "SCHEMA_REGISTRY_URL")
    else:
        home = local_stack()
        settings = replace(settings, schema_registry_url=home.settings.schema_registry_url)
        sources["schema_registry_url"] = Source(LOCAL_STACK, _short(home.home))

    if database_url:
        settings = replace(settings, database_url=database_url)
        sources["database_url"] = Source(FLAG, "--database-url")
    elif env.database_url:
        sources["database_url"] = Source(ENVIRONMENT, "DATABASE_URL")
    else:
        sources["database_url"] = Source(
            "default", "not set: the project's Django settings decide"
        )
    return Resolved(settings, sources)


def from_args(args) -> Resolved:
    """`resolve` from the CLI's global options, once per command; `-v` prints the sources."""
    cached = getattr(args, "_connections", None)
    if cached is not None:
        return cached
    resolved = resolve(
        getattr(args, "bootstrap_servers", None),
        getattr(args, "schema_registry_url", None),
        getattr(args, "database_url", None),
    )
    args._connections = resolved
    if getattr(args, "verbose", False):
        import sys

        for line in resolved.describe():
            print(line, file=sys.stderr)
    return resolved


def settings(args) -> config.ConnectionSettings:
    """The ConnectionSettings every command uses (see `resolve` for the order)."""
    return from_args(args).settings


def _short(path) -> str:
    text = str(path)
    home = os.path.expanduser("~")
    if home not in ("", "/", "~") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home):]
    return text
