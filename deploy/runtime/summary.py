"""The text of `pipeline up`'s closing summary and of `pipeline status`, from the stack's report
(`Stack.describe()` / `Stack.status()`, the same dicts `status --json` prints).

Addresses are shown only for components that are up: a stopped stack shows "stopped", never a
URL that answers nothing. The API token stays out of the text unless asked for.
"""

from __future__ import annotations

import os
import shlex

from deploy.runtime.feedback import NAME_WIDTH

LABEL_WIDTH = 11


def up_lines(report: dict, status_command: str) -> list[str]:
    """Where to go next: web, admin (and where its password is), console, Maildir, status."""
    django = report.get("django") or {}
    console = report.get("console") or {}
    streams = report.get("streams") or {}
    smtp = report.get("smtp") or {}
    lines = [
        _pair("web", django.get("url")),
        _pair("admin", _admin(django)),
        _pair("console", _console(console)),
        _pair("streams", streams.get("url")),
        _pair("maildir", smtp.get("maildir")),
        _pair("kafka", report["kafka"]["bootstrap_servers"]),
        _pair("registry", report["schema_registry"]["url"]),
        _pair("status", status_command),
    ]
    return [""] + [line for line in lines if line]


def status_lines(report: dict, show_token: bool = False) -> list[str]:
    components = report["components"]
    addresses = component_addresses(report)
    lines = [f"stack in {report['home']}"]
    for name, comp in components.items():
        lines.append(_component_line(name, comp, addresses.get(name)))
    up = {name for name, comp in components.items() if comp["healthy"]}
    django = report.get("django") or {}
    if "django" in up:
        lines.append(_pair("admin", _admin(django)))
        token = django.get("api_token")
        if token:
            shown = token if show_token else "hidden (pipeline status --show-token)"
            lines.append(_pair("API token", shown))
    console = report.get("console") or {}
    if "console" in up:
        lines.append(_pair("console", _console(console)))
    smtp = report.get("smtp") or {}
    if smtp.get("maildir"):
        lines.append(_pair("maildir", smtp["maildir"]))  # a folder: its mail outlives the stack
    return [line for line in lines if line]


def component_addresses(report: dict) -> dict[str, str]:
    """Each component's address as the report gives it (component names per the contract)."""
    found = {
        "kafka": report["kafka"]["bootstrap_servers"],
        "schema-registry": report["schema_registry"]["url"],
    }
    django = report.get("django") or {}
    if django.get("url"):
        found["django"] = django["url"]
    console = report.get("console") or {}
    if console.get("url"):
        found["console"] = console["url"]
    smtp = report.get("smtp") or {}
    if smtp.get("port"):
        found["smtp"] = f"{smtp.get('host', '127.0.0.1')}:{smtp['port']}"
    for app, info in ((report.get("streams") or {}).get("apps") or {}).items():
        found[f"streams-{app}"] = info.get("url")
    for worker, info in (report.get("workers") or {}).items():
        found[f"worker-{worker}"] = info.get("metrics_url")
    return {name: address for name, address in found.items() if address}


def status_command(environ=None) -> str:
    """The command that shows this stack's status, with the variables that chose it."""
    env = os.environ if environ is None else environ
    prefix = [
        f"{name}={shlex.quote(env[name])}"
        for name in ("PIPELINE_HOME", "PIPELINE_PROJECT")
        if env.get(name)
    ]
    return " ".join([*prefix, "pipeline status"])


def _component_line(name: str, comp: dict, address: str | None) -> str:
    if comp.get("external"):
        state = "healthy" if comp["healthy"] else "UNREACHABLE"
        return f"{name:<{NAME_WIDTH}} {state:<11} external   {address or ''}".rstrip()
    if comp["pid"] is None:
        return f"{name:<{NAME_WIDTH}} stopped"
    if not comp["healthy"]:
        problem = comp.get("problem")
        suffix = f"  {problem}" if problem else ""
        return f"{name:<{NAME_WIDTH}} {'UNHEALTHY':<11} pid {comp['pid']:<6}{suffix}"
    return f"{name:<{NAME_WIDTH}} {'healthy':<11} pid {comp['pid']:<6} {address or ''}".rstrip()


def _admin(django: dict) -> str | None:
    if not django.get("admin_url"):
        return None
    user = django.get("admin_user")
    where = django.get("admin_password_file")
    detail = ", ".join(
        part for part in (f"user {user}" if user else "", f"password in {where}" if where else "")
        if part
    )
    return f"{django['admin_url']}  ({detail})" if detail else django["admin_url"]


def _console(console: dict) -> str | None:
    if not console.get("url"):
        return None
    user = console.get("username")
    return f"{console['url']}  (user {user}, password in `pipeline status --json`)" if user else (
        console["url"]
    )


def _pair(label: str, value: str | None) -> str | None:
    return f"{label:<{LABEL_WIDTH}} {value}" if value else None
