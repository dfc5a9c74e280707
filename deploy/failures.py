"""Expected failures of the libraries under the CLI, as PipelineErrors with one clear line.

The CLI prints a PipelineError as `pipeline <command>: error: <message>` and exits 3 when it is
retriable (a service unreachable), else 1. This module turns what confluent-kafka, its
registry client, httpx and the file system raise into those, so no expected failure reaches
the user as a traceback.
"""

from __future__ import annotations

import re

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.config import ConnectionSettings
from schemas.errors import (
    REGISTRY_HINT,
    ConfigError,
    PipelineError,
    ServiceUnavailable,
    broker_unreachable,
)

# librdkafka codes that mean "could not talk to the cluster", not "the cluster said no".
_UNREACHABLE = {
    KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT,
    KafkaError._TIMED_OUT_QUEUE, KafkaError._RESOLVE, KafkaError._MSG_TIMED_OUT,
    KafkaError._WAIT_COORD, KafkaError._SSL, KafkaError._AUTHENTICATION,
}


# How a KafkaError prints inside other messages: `KafkaError{code=_TRANSPORT,val=-195,str="..."}`.
_KAFKA_ERROR_REPR = re.compile(r'KafkaError\{code=[^,]*,val=-?\d+,str="(.*?)"\}')


def readable(message: str) -> str:
    """`message` with librdkafka's error reprs reduced to their text."""
    return _KAFKA_ERROR_REPR.sub(r"\1", message)


class KafkaFailure(PipelineError):
    """The broker answered, and refused what the command asked (names the broker's reason)."""


class RegistryFailure(PipelineError):
    """The schema registry answered with an error."""


class FileFailure(PipelineError):
    """A file or folder named on the command line cannot be read or written."""


def as_pipeline_error(exc: BaseException, settings: ConnectionSettings) -> PipelineError | None:
    """The PipelineError for an expected library failure, or None for a real bug."""
    if isinstance(exc, KafkaException):
        return _kafka(exc, settings)
    if isinstance(exc, SchemaRegistryError):
        return _registry(exc, settings)
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a core dependency
        httpx = None
    if httpx is not None and isinstance(exc, httpx.HTTPError):
        return _http(exc, httpx)
    if isinstance(exc, ConnectionError):
        return ServiceUnavailable("a service", "?", str(exc), "Run with -v to see which")
    if isinstance(exc, OSError) and exc.filename is not None:
        return FileFailure(f"{exc.filename}: {exc.strerror or exc}; check the path and its "
                           "permissions")
    return None


def _kafka(exc: KafkaException, settings: ConnectionSettings) -> PipelineError:
    err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    if err is None:
        return KafkaFailure(f"Kafka client: {exc}")
    text = err.str()
    if err.code() in _UNREACHABLE:
        return broker_unreachable(settings.bootstrap_servers, text)
    if err.code() == KafkaError._INVALID_ARG:
        return ConfigError(f"Kafka client configuration: {text}; check KAFKA_CONF_* variables")
    return KafkaFailure(f"Kafka broker at {settings.bootstrap_servers}: {text}")


def _registry(exc: SchemaRegistryError, settings: ConnectionSettings) -> PipelineError:
    status = exc.http_status_code
    if status is None or status < 0 or status >= 500:
        return ServiceUnavailable(
            "schema registry", settings.schema_registry_url,
            f"{exc.error_message} (HTTP {status})", REGISTRY_HINT,
        )
    return RegistryFailure(
        f"schema registry at {settings.schema_registry_url} answered HTTP {status} "
        f"(code {exc.error_code}): {exc.error_message}"
    )


def _http(exc, httpx) -> PipelineError:
    try:
        url = str(exc.request.url)
    except RuntimeError:  # no request attached
        url = "?"
    if isinstance(exc, httpx.TransportError):
        return ServiceUnavailable("HTTP service", url, f"{type(exc).__name__}: {exc}",
                                  "Check that it runs (`pipeline status`)")
    return PipelineError(f"{url}: {exc}")
