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

from deploy.refusals import with_role_hint
from schemas.config import ConnectionSettings
from schemas.errors import (
    REGISTRY_HINT,
    AccessRefused,
    ConfigError,
    PipelineError,
    ServiceUnavailable,
    broker_unreachable,
)
from schemas.refusals import diagnose, refusal

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


def as_pipeline_error(exc: BaseException, settings: ConnectionSettings,
                      topic: str | None = None) -> PipelineError | None:
    """The PipelineError for an expected library failure, or None for a real bug.

    `topic` is the one topic the command works on, if any: librdkafka often does not name the
    topic of a refusal."""
    if isinstance(exc, KafkaException):
        return _kafka(exc, settings, topic)
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


def explain_refusal(exc: BaseException, settings: ConnectionSettings, topic: str | None = None,
                    context: str = "") -> AccessRefused | None:
    """The AccessRefused behind `exc` (a KafkaException, or a PipelineError raised from one)
    with the role table's hint, or None when the cluster refused nothing.

    The one place the CLI turns a refusal into its message: a login refusal that librdkafka
    reported as "transport failure" is found by connecting once more (`diagnose`)."""
    if isinstance(exc, AccessRefused):
        return with_role_hint(exc)
    if not isinstance(exc, KafkaException):
        cause = exc.__cause__ or exc.__context__
        return explain_refusal(cause, settings, topic, str(exc)) if cause is not None else None
    err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    if err is None:
        return None
    conf = settings.kafka_conf()
    refused = refusal(err, conf, topic=topic, context=context)
    if refused is None and err.code() in _UNREACHABLE:
        # A refused login or a plaintext client at a TLS listener looks like an unreachable
        # broker to the caller; one more connection reads the broker's actual reason.
        refused = diagnose(conf, timeout_s=min(settings.timeout_s, 4.0))
    return with_role_hint(refused) if refused is not None else None


def _kafka(exc: KafkaException, settings: ConnectionSettings, topic: str | None) -> PipelineError:
    err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    if err is None:
        return KafkaFailure(f"Kafka client: {exc}")
    text = err.str()
    refused = explain_refusal(exc, settings, topic)
    if refused is not None:
        return refused
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
