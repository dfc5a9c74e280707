"""Errors raised by the pipeline's shared layer.

PipelineError
├── ConfigError                 unknown or invalid setting (names the key)
├── ServiceUnavailable          broker or registry unreachable (names the address) [retriable]
├── SerializationError          an event does not match its schema (names the field)
├── DeserializationError        bytes that are not a decodable event (names the reason)
│   └── UnknownSchemaError      the schema id is not in the registry
├── CompatibilityError          a schema change would break readers (names subject and field)
├── AccessRefused               a secured cluster said no (names principal, resource and a hint;
│   │                           built by schemas/refusals.py from the client's KafkaError)
│   ├── AuthorizationRefused    no ACL grants the operation (topic, group, cluster, txn id)
│   └── AuthenticationRefused   the login failed: SASL credentials, TLS trust, or plaintext client
└── (the CLI's, deploy/failures.py: what the libraries raise, as one line)
    ├── KafkaFailure            the broker refused a request (names its reason)
    ├── RegistryFailure         the registry answered an error status
    └── FileFailure             a file named on the command line cannot be used

The CLI exits 3 for a retriable error (a service unreachable), else 1.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error this project raises on purpose."""

    retriable = False


class ConfigError(PipelineError, ValueError):
    """A setting is unknown or has an invalid value."""


class ServiceUnavailable(PipelineError, ConnectionError):
    """A broker or registry did not answer in time."""

    retriable = True

    def __init__(self, service: str, address: str, detail: str, hint: str = ""):
        self.service = service
        self.address = address
        message = f"{service} at {address} is unreachable: {detail}"
        if hint:
            message += f". {hint}"
        super().__init__(message)


BROKER_HINT = (
    "Start the local stack with `pipeline up`, or point --bootstrap-servers / "
    "KAFKA_BOOTSTRAP_SERVERS at a running broker"
)
REGISTRY_HINT = (
    "Start the local stack with `pipeline up`, or point --schema-registry-url / "
    "SCHEMA_REGISTRY_URL at a Confluent-compatible registry"
)


def broker_unreachable(address: str, detail: str) -> ServiceUnavailable:
    """The one error for "no broker answered at `address`"; `detail` says what was tried."""
    return ServiceUnavailable("Kafka broker", address, detail, BROKER_HINT)


class SerializationError(PipelineError, ValueError):
    """An event dict does not match its Avro schema."""

    def __init__(self, event_type: str, message: str, field: str | None = None):
        self.event_type = event_type
        self.field = field
        super().__init__(f"{event_type}: {message}")


class DeserializationError(PipelineError, ValueError):
    """A record's bytes could not be decoded into an event."""


class UnknownSchemaError(DeserializationError):
    """The record names a schema id that the registry does not know."""


class PermanentFailure(PipelineError):
    """An event can never be handled as it is (bad template, bad params): a worker sends it to
    its dead-letter topic at once, without retries. Raised by handlers of any area."""


class CompatibilityError(PipelineError):
    """A schema change is incompatible with what readers already depend on."""


class AccessRefused(PipelineError):
    """A secured cluster refused this client. Not retriable: only new credentials or ACLs help.

    `principal` is the SASL user the client connected as ("" when it sent none); `resource` is
    its text ("topic orders", "group worker-x", "the cluster", "" for a login); `hint` says
    how to get access and may be replaced by a better one (`with_hint`), e.g. one naming the
    role of the local stack's role table that grants it.
    """

    def __init__(self, principal: str, resource: str, reason: str, hint: str,
                 operation: str | None = None, kind: str = "", name: str | None = None):
        self.principal = principal
        self.resource = resource
        self.reason = reason
        self.hint = hint
        self.operation = operation
        self.kind = kind  # "topic", "group", "cluster", "transactional_id" or "" (a login)
        self.name = name  # the topic, group or id; None when nobody named it
        super().__init__(self._text())

    def _text(self) -> str:
        raise NotImplementedError

    def with_hint(self, hint: str) -> AccessRefused:
        return type(self)(self.principal, self.resource, self.reason, hint, self.operation,
                          self.kind, self.name)

    @property
    def who(self) -> str:
        return f"principal {self.principal!r}" if self.principal else "a client without a login"


class AuthorizationRefused(AccessRefused):
    """An ACL is missing: the broker answered *_AUTHORIZATION_FAILED."""

    def _text(self) -> str:
        what = f"{self.operation} on" if self.operation else "use"
        return f"{self.who} may not {what} {self.resource} ({self.reason}). {self.hint}"


class AuthenticationRefused(AccessRefused):
    """The connection was refused before any request: SASL login, TLS handshake, protocol."""

    def _text(self) -> str:
        return f"{self.who} could not log in: {self.reason}. {self.hint}"
