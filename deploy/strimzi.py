"""`pipeline topics export --format strimzi`: the topic catalog and the role table as Strimzi
custom resources, so a Kubernetes cluster run by the Strimzi operator holds the same model.

- one `KafkaTopic` per catalog topic (with the workers' retry and dead-letter topics and the
  task queues' topics): partitions, replicas (3 unless the catalog asks for more) and configs
  (`min.insync.replicas` 2 unless the catalog sets it);
- one `KafkaUser` per principal of deploy/roles.toml: SCRAM-SHA-512 authentication and the
  role's ACLs (`authorization.type: simple`). Strimzi's operator makes each user's password
  Secret; super users are named in the `Kafka` resource, so `admin` gets explicit ACLs here.

API version `v1` is what Strimzi 1.0 and newer serve; `v1beta2` is for older operators. The
fields used here are the same in both.
"""

from __future__ import annotations

from deploy import topics
from deploy.security import roles

API_VERSIONS = ("v1", "v1beta2")
PRODUCTION_REPLICAS = 3
_RESOURCE_TYPES = {"topic": "topic", "group": "group", "cluster": "cluster",
                   "transactional_id": "transactionalId"}


def export(cluster: str = "my-cluster", api_version: str = "v1", project=None) -> str:
    """Multi-document YAML: every KafkaTopic, then every KafkaUser."""
    import yaml

    from schemas import project as projects

    project = project or projects.current()
    specs = topics.project_catalog(project)
    principals = roles.principals(roles.load(), roles.Scope.of(project))
    documents = topic_resources(specs, cluster, api_version)
    documents += user_resources(principals, cluster, api_version)
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)


def topic_resources(specs, cluster: str, api_version: str = "v1") -> list[dict]:
    replicas = max(PRODUCTION_REPLICAS, *(s.replication_factor for s in specs)) if specs else 3
    resources = []
    for spec in topics.for_replication(specs, replicas):
        resources.append({
            "apiVersion": _api(api_version),
            "kind": "KafkaTopic",
            "metadata": {"name": resource_name(spec.name), "labels": _labels(cluster)},
            "spec": {
                "topicName": spec.name,
                "partitions": spec.partitions,
                "replicas": spec.replication_factor,
                "config": {key: _config_value(value) for key, value in spec.configs().items()},
            },
        })
    return resources


def user_resources(principals, cluster: str, api_version: str = "v1") -> list[dict]:
    return [
        {
            "apiVersion": _api(api_version),
            "kind": "KafkaUser",
            "metadata": {"name": resource_name(p.name), "labels": _labels(cluster)},
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": [_acl(a) for a in p.acls]},
            },
        }
        for p in principals
    ]


def resource_name(name: str) -> str:
    """A Kubernetes object name (lowercase RFC 1123 subdomain) for a topic or user name; the
    real name stays in `spec.topicName`."""
    cleaned = "".join(c if c.isalnum() or c in ".-" else "-" for c in name.lower())
    return cleaned.strip(".-")[:253] or "unnamed"


def _acl(acl: roles.Acl) -> dict:
    resource = {"type": _RESOURCE_TYPES[acl.resource]}
    if acl.resource != "cluster":
        resource["name"] = acl.name
        resource["patternType"] = acl.pattern
    return {"resource": resource, "operations": list(acl.operations), "host": "*"}


def _api(version: str) -> str:
    if version not in API_VERSIONS:
        raise ValueError(f"Strimzi API version {version!r}; use one of {API_VERSIONS}")
    return f"kafka.strimzi.io/{version}"


def _labels(cluster: str) -> dict:
    return {"strimzi.io/cluster": cluster}


def _config_value(value: str):
    """Kafka configs as YAML scalars: numbers as numbers, like Strimzi's examples."""
    try:
        return int(value)
    except ValueError:
        return value
