"""Making a running secure cluster match the role table: SCRAM users and ACL bindings.

Idempotent, run by every `pipeline up --secure` as the admin user: users the cluster lacks are
created (existing passwords are kept), missing ACLs are created, and ACLs of the table's
principals that the table no longer grants are deleted. Users and ACLs of other principals
are left alone.
"""

from __future__ import annotations

import re
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from deploy.security import credentials
from deploy.security.roles import Principal
from schemas.errors import PipelineError

TIMEOUT_S = 30
_RESOURCE_TYPES = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    "cluster": ResourceType.BROKER,
    "transactional_id": ResourceType.TRANSACTIONAL_ID,
}
_PATTERNS = {"literal": ResourcePatternType.LITERAL, "prefix": ResourcePatternType.PREFIXED}


class SecuritySetupFailed(PipelineError):
    """Users or ACLs could not be applied to the local cluster."""


def bindings(principal: Principal) -> list[AclBinding]:
    """The ACL bindings that grant `principal` its ACLs, from any host."""
    return [
        AclBinding(
            _RESOURCE_TYPES[acl.resource],
            acl.name,
            _PATTERNS[acl.pattern],
            f"User:{principal.name}",
            "*",
            _operation(op),
            AclPermissionType.ALLOW,
        )
        for acl in principal.acls
        for op in acl.operations
    ]


def apply(admin_conf: dict, principals: list[Principal], passwords: dict[str, str]) -> dict:
    """Create missing users and ACLs, drop stale ACLs. Returns {"users": n, "acls": created,
    "removed": deleted} counts."""
    admin = AdminClient({**admin_conf, "log_level": 0})
    try:
        users = _create_users(admin, [p.name for p in principals if not p.superuser], passwords)
        created, removed = _sync_acls(admin, [p for p in principals if not p.superuser])
    except KafkaException as exc:
        raise SecuritySetupFailed(
            f"could not apply users and ACLs of deploy/roles.toml to the local cluster: "
            f"{exc.args[0] if exc.args else exc}. Check the broker logs, then run "
            "`pipeline up --secure` again"
        ) from exc
    return {"users": users, "acls": created, "removed": removed}


def _create_users(admin: AdminClient, names: list[str], passwords: dict[str, str]) -> int:
    existing = set()
    described = admin.describe_user_scram_credentials(names)
    for user, future in described.items():
        try:
            future.result(timeout=TIMEOUT_S)
            existing.add(user)
        except KafkaException:
            pass  # RESOURCE_NOT_FOUND: no credentials yet
    missing = [n for n in names if n not in existing]
    if not missing:
        return 0
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, credentials.ITERATIONS)
    upserts = [UserScramCredentialUpsertion(n, info, passwords[n].encode()) for n in missing]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result(timeout=TIMEOUT_S)
    return len(missing)


def _sync_acls(admin: AdminClient, principals: list[Principal]) -> tuple[int, int]:
    wanted = {_key(b): b for p in principals for b in bindings(p)}
    ours = {f"User:{p.name}" for p in principals}
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    present = admin.describe_acls(everything).result(timeout=TIMEOUT_S)
    have = {_key(b): b for b in present if b.principal in ours}
    missing = [b for k, b in wanted.items() if k not in have]
    stale = [_as_filter(b) for k, b in have.items() if k not in wanted]
    if missing:
        for future in admin.create_acls(missing, request_timeout=TIMEOUT_S).values():
            future.result(timeout=TIMEOUT_S)
    if stale:
        for future in admin.delete_acls(stale, request_timeout=TIMEOUT_S).values():
            future.result(timeout=TIMEOUT_S)
    if missing:
        _wait_visible(admin, everything, set(wanted))
    return len(missing), len(stale)


def _wait_visible(admin: AdminClient, everything, wanted: set) -> None:
    """New ACLs reach every broker through the metadata log; wait until they show."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        shown = {_key(b) for b in admin.describe_acls(everything).result(timeout=TIMEOUT_S)}
        if wanted <= shown:
            return
        time.sleep(0.2)


def _key(b: AclBinding) -> tuple:
    return (b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
            b.permission_type)


def _as_filter(b: AclBinding) -> AclBindingFilter:
    return AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host,
                            b.operation, b.permission_type)


def _operation(name: str) -> AclOperation:
    return AclOperation[re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()]

