"""A secured cluster's "no", as one line naming the principal, the resource and a hint.

    refused = refusal(err, conf, topic=msg.topic(), operation="Write")  # KafkaError -> error
    if refused is not None:
        raise refused                    # or log str(refused); it is a PipelineError

`refusal` turns a KafkaError of any client (delivery report, consumer poll, admin future,
error_cb) into an `AccessRefused` when it is an authorization or authentication refusal, else
None. `conf` is the librdkafka dict the client was built with: its `sasl.username` is the
principal, its `group.id` / `transactional.id` the resource librdkafka leaves unnamed.

A refused login often reaches the caller only as "broker transport failure" (the real reason
goes to librdkafka's log); `diagnose(conf)` then connects once more, for a few seconds, and
reads that reason.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

from confluent_kafka import KafkaError

from schemas.errors import AccessRefused, AuthenticationRefused, AuthorizationRefused

CREDENTIALS_HINT = (
    "the local stack's are in `pipeline status --json` under kafka.client_config.<role>"
)
_AUTHORIZATION = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED: "topic",
    KafkaError.GROUP_AUTHORIZATION_FAILED: "group",
    KafkaError.CLUSTER_AUTHORIZATION_FAILED: "cluster",
    KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: "transactional_id",
}
# Where librdkafka (or our own wrapping messages) name the resource in the text.
_NAMED = {
    "topic": (re.compile(r"topic not available: ([^\s:]+):"),
              re.compile(r"topic ['\"]([^'\"]+)['\"]")),
    "group": (re.compile(r"group ['\"]([^'\"]+)['\"]"),),
}
_PLAINTEXT = ("", "plaintext", "sasl_plaintext")
_LOGIN_REFUSED = ("SASL authentication error", "SASL authentication failed",
                  "Authentication failed")
_TLS_FAILED = ("SSL handshake failed", "certificate verify failed")
# A plaintext client at a TLS listener: the broker drops it during the first request.
_DROPPED_BEFORE_HANDSHAKE = "in state APIVERSION_QUERY"


def refusal(
    err: KafkaError,
    conf: Mapping,
    *,
    topic: str | None = None,
    group: str | None = None,
    operation: str | None = None,
    context: str = "",
) -> AccessRefused | None:
    """The AccessRefused for `err`, or None when `err` is no refusal.

    `topic`/`group` name the resource when the caller knows it (librdkafka often does not say);
    `operation` is Kafka's name of what was asked (Read, Write, Describe, Create...), guessed
    from the text when not given; `context` is text around the error that may name a resource.
    """
    code, text = err.code(), err.str()
    principal = str(conf.get("sasl.username") or "")
    kind = _AUTHORIZATION.get(code)
    if kind is not None:
        name = {"topic": topic, "group": group or conf.get("group.id"),
                "transactional_id": conf.get("transactional.id")}.get(kind)
        name = name or _named(kind, f"{text} {context}")
        operation = operation or _operation(kind, text)
        resource = _resource(kind, name)
        return AuthorizationRefused(principal, resource, _reason(err),
                                    _grant_hint(principal, resource, operation, text), operation,
                                    kind, name)
    return _login_refusal(code, text, conf)


def diagnose(conf: Mapping, timeout_s: float = 4.0) -> AccessRefused | None:
    """Connect with `conf` for up to `timeout_s` and return the login refusal librdkafka logs,
    or None (the brokers are up and let us in, or unreachable for another reason)."""
    from confluent_kafka import Producer

    found: list[AccessRefused] = []
    settled: list[bool] = []

    def look(code: int, text: str) -> None:
        if found or settled:
            return
        refused = _login_refusal(code, text, conf)
        if refused is not None:
            found.append(refused)
        elif "Connection refused" in text or "-> UP" in text or code == KafkaError._RESOLVE:
            settled.append(True)

    class _Log:
        def log(self, level: int, fmt: str, *args) -> None:
            look(KafkaError._TRANSPORT, fmt % args if args else fmt)

    probe_conf = {k: v for k, v in conf.items() if not callable(v) and k not in (
        "logger", "error_cb", "stats_cb", "on_delivery", "group.id", "transactional.id")}
    probe_conf.update({
        "error_cb": lambda err: look(err.code(), err.str()),
        "logger": _Log(), "log_level": 7, "debug": "broker",
    })
    try:
        probe = Producer(probe_conf)
    except Exception:  # noqa: BLE001 - a conf the client rejects: nothing to diagnose here
        return None
    deadline = time.monotonic() + timeout_s
    try:
        while not (found or settled) and time.monotonic() < deadline:
            probe.poll(0.1)
    finally:
        probe.purge()
    return found[0] if found else None


def _login_refusal(code: int, text: str, conf: Mapping) -> AccessRefused | None:
    principal = str(conf.get("sasl.username") or "")
    protocol = str(conf.get("security.protocol") or "").lower()
    if code == KafkaError._AUTHENTICATION or any(s in text for s in _LOGIN_REFUSED):
        mechanism = conf.get("sasl.mechanism") or conf.get("sasl.mechanisms") or "SASL"
        return AuthenticationRefused(
            principal, "", f"the cluster refused its {mechanism} login (wrong password or "
            "unknown user: Kafka does not say which)",
            "Check KAFKA_CONF_SASL_USERNAME and KAFKA_CONF_SASL_PASSWORD; " + CREDENTIALS_HINT)
    if code == KafkaError._SSL or any(s in text for s in _TLS_FAILED):
        ca = conf.get("ssl.ca.location")
        trusted = f"the CA file {ca}" if ca else "the system's trust store (no ssl.ca.location)"
        return AuthenticationRefused(
            principal, "", f"TLS handshake failed: the broker's certificate is not signed by "
            f"{trusted}",
            "Set KAFKA_CONF_SSL_CA_LOCATION to the cluster's CA file (PEM); "
            + CREDENTIALS_HINT + " (ssl.ca.location)")
    dropped = _DROPPED_BEFORE_HANDSHAKE in text or "incorrect security.protocol" in text
    if dropped and protocol in _PLAINTEXT:
        return AuthenticationRefused(
            principal, "", f"the server closed the connection at the first Kafka request, as a "
            f"TLS listener does to a {protocol.upper() or 'PLAINTEXT'} client (or the address is "
            "no Kafka broker)",
            "Set KAFKA_CONF_SECURITY_PROTOCOL=SASL_SSL, KAFKA_CONF_SASL_MECHANISM, "
            "KAFKA_CONF_SASL_USERNAME, KAFKA_CONF_SASL_PASSWORD and KAFKA_CONF_SSL_CA_LOCATION; "
            + CREDENTIALS_HINT)
    return None


def _named(kind: str, text: str) -> str | None:
    for pattern in _NAMED.get(kind, ()):
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def _operation(kind: str, text: str) -> str | None:
    """Kafka's operation behind a refusal, from what librdkafka says it was doing."""
    if kind == "group":
        return "Read"  # joining, committing and fetching offsets all need Read on the group
    if kind == "transactional_id":
        return "Write"
    if kind == "cluster":
        return "IdempotentWrite" if "idempotence" in text.lower() else None
    if text.startswith("Fetch"):
        return "Read"
    if "topic not available" in text:
        return "Describe"
    return None


def _resource(kind: str, name: str | None) -> str:
    if kind == "cluster":
        return "the cluster"
    label = kind.replace("_", " ")
    return f"{label} {name}" if name else f"a {label} (not named by the broker)"


def _reason(err: KafkaError) -> str:
    """The code, and librdkafka's text where it says more (what it was doing)."""
    return f"{err.name()}: {err.str()}" if err.str() else err.name()


def _grant_hint(principal: str, resource: str, operation: str | None, text: str) -> str:
    if operation == "IdempotentWrite":
        return ("A producer with enable.idempotence needs Write on a topic it produces to (or "
                "IdempotentWrite on the cluster); connect as a principal that may write, "
                "or produce without idempotence")
    who = f"User:{principal}" if principal else "this client"
    what = f"{operation} on {resource}" if operation else f"access to {resource}"
    return (f"Connect as a principal that has {what} (KAFKA_CONF_SASL_USERNAME and "
            f"KAFKA_CONF_SASL_PASSWORD; {CREDENTIALS_HINT}), or grant it to {who} (on the "
            "local stack: a role's acls in deploy/roles.toml, then `pipeline up --secure`)")


__all__ = ["AccessRefused", "CREDENTIALS_HINT", "diagnose", "refusal"]
