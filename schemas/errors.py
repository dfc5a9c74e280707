"""Errors raised by the pipeline's shared layer.

PipelineError
├── ConfigError                 unknown or invalid setting (names the key)
├── ServiceUnavailable          broker or registry unreachable (names the address) [retriable]
├── SerializationError          an event does not match its schema (names the field)
├── DeserializationError        bytes that are not a decodable event (names the reason)
│   └── UnknownSchemaError      the schema id is not in the registry
└── CompatibilityError          a schema change would break readers (names subject and field)
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


class CompatibilityError(PipelineError):
    """A schema change is incompatible with what readers already depend on."""
