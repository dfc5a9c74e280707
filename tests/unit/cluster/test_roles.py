"""The role table (deploy/roles.toml) -> principals and ACL bindings, without a broker."""

from __future__ import annotations

import pytest
from confluent_kafka.admin import AclOperation, ResourcePatternType, ResourceType

from deploy.security import apply, roles

SCOPE = roles.Scope(
    event_topics=("app.orders", "tasks.default"),
    workers={"mailer": "worker-mailer", "indexer": "worker-indexer"},
    streams={"totals": "streams-totals"},
)


@pytest.fixture(scope="module")
def principals():
    return {p.name: p for p in roles.principals(roles.load(), SCOPE)}


def _grants(principal) -> set[tuple]:
    return {(b.restype, b.name, b.resource_pattern_type, b.operation)
            for b in apply.bindings(principal)}


def test_every_role_of_the_contract_is_in_the_table_and_documented():
    table = roles.load()
    assert {"relay", "worker", "streams", "analyst", "admin"} <= set(table)
    assert all(role.description for role in table.values())
    assert [r.name for r in table.values() if r.superuser] == ["admin"]


def test_one_principal_per_worker_and_stream_app_named_like_its_component(principals):
    assert {"worker-mailer", "worker-indexer", "streams-totals"} <= set(principals)
    assert roles.for_component(list(principals.values()), "worker-mailer").name == "worker-mailer"
    assert roles.for_component(list(principals.values()), "relay").name == "relay"
    assert roles.for_component(list(principals.values()), "console").name == "admin"
    assert roles.for_component(list(principals.values()), "nobody") is None


def test_relay_writes_the_event_topics_and_reads_nothing(principals):
    grants = _grants(principals["relay"])
    assert (ResourceType.TOPIC, "app.orders", ResourcePatternType.LITERAL,
            AclOperation.WRITE) in grants
    assert (ResourceType.TOPIC, "tasks.default", ResourcePatternType.LITERAL,
            AclOperation.WRITE) in grants
    assert not any(op in (AclOperation.READ, AclOperation.ALL) for *_, op in grants)


def test_analyst_reads_event_topics_in_replay_and_analyst_groups_and_writes_nothing(principals):
    grants = _grants(principals["analyst"])
    assert (ResourceType.GROUP, "replay-", ResourcePatternType.PREFIXED,
            AclOperation.READ) in grants
    assert (ResourceType.GROUP, "analyst-", ResourcePatternType.PREFIXED,
            AclOperation.READ) in grants
    writes = {AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER,
              AclOperation.ALTER_CONFIGS, AclOperation.ALL}
    assert not [g for g in grants if g[3] in writes]


def test_a_worker_uses_only_its_own_group_and_retry_topics(principals):
    grants = _grants(principals["worker-mailer"])
    groups = {name for restype, name, _, _ in grants if restype == ResourceType.GROUP}
    assert groups == {"worker-mailer"}
    assert (ResourceType.TOPIC, "worker-mailer.", ResourcePatternType.PREFIXED,
            AclOperation.WRITE) in grants
    assert not any("indexer" in name for _, name, _, _ in grants)
    # The role-named principal has the rights of every worker, for runs outside the stack.
    union = {name for _, name, _, _ in _grants(principals["worker"])}
    assert {"worker-mailer", "worker-indexer"} <= union


def test_a_stream_app_owns_its_prefix_and_group(principals):
    grants = _grants(principals["streams-totals"])
    assert (ResourceType.TOPIC, "streams-totals", ResourcePatternType.PREFIXED,
            AclOperation.ALL) in grants
    assert (ResourceType.GROUP, "streams-totals", ResourcePatternType.PREFIXED,
            AclOperation.READ) in grants


@pytest.mark.parametrize("text, message", [
    ('[roles.x]\nsuperuser = true\nfoo = 1\n', "unknown keys ['foo']"),
    ('[roles.x]\nsuperuser = true\nper = "team"\n', "per = 'team'"),
    ('[roles.x]\nsuperuser = true\nacls = [{ resource = "queue", name = "a", '
     'operations = ["Read"] }]\n', "resource 'queue'"),
    ('[roles.x]\nsuperuser = true\nacls = [{ resource = "topic", name = "a", '
     'operations = ["Reed"] }]\n', "operations ['Reed']"),
    ('[roles.x]\nsuperuser = true\nacls = [{ resource = "group", name = "{group}", '
     'operations = ["Read"] }]\n', "per = worker"),
    ('[roles.x]\n', "superuser = true"),
])
def test_a_bad_table_names_the_role_and_key(tmp_path, text, message):
    path = tmp_path / "roles.toml"
    path.write_text(text)
    with pytest.raises(roles.RoleTableError, match="roles.toml") as info:
        roles.load(path)
    assert message in str(info.value)
