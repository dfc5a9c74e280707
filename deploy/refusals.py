"""The role-table hint for a refusal: which principals of deploy/roles.toml have the right.

    refused = with_role_hint(refused)   # an AuthorizationRefused from schemas.refusals

On the local secure stack every client connects as a principal of the role table, so the best
hint for "analyst may not Write on topic orders" is the roles that may (relay, streams,
admin) and the role to extend. Any other refusal, or a project whose role table cannot be
read, keeps its generic hint.
"""

from __future__ import annotations

import logging

from schemas.errors import AccessRefused, AuthorizationRefused, PipelineError
from schemas.refusals import CREDENTIALS_HINT

logger = logging.getLogger(__name__)

# An ACL's operation that implies the refused one (Kafka: Read/Write/Delete/Alter imply Describe).
_IMPLIES = {"Describe": {"Read", "Write", "Delete", "Alter", "Describe"}}


def with_role_hint(refused: AccessRefused) -> AccessRefused:
    if not isinstance(refused, AuthorizationRefused):
        return refused
    try:
        from deploy.security import roles
        from schemas import project

        found = roles.principals(roles.load(), roles.Scope.of(project.current()))
    except PipelineError as exc:
        logger.debug("no role-table hint: %s", exc)
        return refused
    hint = role_hint(found, refused)
    return refused.with_hint(hint) if hint else refused


def role_hint(principals: list, refused: AuthorizationRefused) -> str:
    """"deploy/roles.toml grants Write on topic X to: relay, streams (role streams), admin; ..."
    or "" when `refused` names no principal of the table."""
    mine = next((p for p in principals if p.name == refused.principal), None)
    if mine is None:
        return ""
    kind, name = refused.kind, refused.name
    if kind == "cluster":
        name = "kafka-cluster"  # the one cluster resource of Kafka's ACLs
    granted = [p for p in principals
               if p.name != mine.name and _grants(p, kind, name, refused.operation)]
    resource = refused.resource if name else f"every {kind.replace('_', ' ')}"
    what = f"{refused.operation} on {resource}" if refused.operation else f"access to {resource}"
    holders = _by_role(granted) or "no principal"
    return (f"deploy/roles.toml grants {what} to: {holders}. Connect as one of them "
            f"(KAFKA_CONF_SASL_USERNAME and KAFKA_CONF_SASL_PASSWORD; {CREDENTIALS_HINT}), "
            f"or add the ACL to [roles.{mine.role}] in deploy/roles.toml and run "
            "`pipeline up --secure` again")


def _grants(principal, kind: str, name: str | None, operation: str | None) -> bool:
    if principal.superuser:
        return True
    wanted = _IMPLIES.get(operation or "", {operation}) if operation else None
    for acl in principal.acls:
        if acl.resource != kind:
            continue
        # An unnamed resource: only a grant on every resource of its kind surely covers it.
        if not (_matches(acl, name) if name is not None else acl.name == "*"):
            continue
        if wanted is None or "All" in acl.operations or wanted & set(acl.operations):
            return True
    return False


def _matches(acl, name: str) -> bool:
    if acl.name == "*":
        return True
    return name.startswith(acl.name) if acl.pattern == "prefix" else name == acl.name


def _by_role(principals: list) -> str:
    """"relay; worker (worker-a, worker-b); admin": each role once, with its principals."""
    names: dict[str, list[str]] = {}
    for p in principals:
        names.setdefault(p.role, []).append(p.name)
    return "; ".join(role if members == [role] else f"role {role} ({', '.join(members)})"
                     for role, members in names.items())
