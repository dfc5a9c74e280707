"""Fetching the broker and registry from Maven Central with `mvn`, into a cache outside the repo.

Versions are pinned here, in one place. Kafka 4.3.1 is the newest 4.x release whose jars are all
on Maven Central and that works with both confluent-kafka and faust-streaming's aiokafka (the
integration tests prove both). Apicurio Registry 3.0.9 runs on Java 17; the newest, 3.3.3, is
compiled for Java 21 (UnsupportedClassVersionError on Java 17), and 3.1.x did not resolve from
Maven Central here.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tarfile
from pathlib import Path

from schemas.config import paths_from_env
from schemas.errors import PipelineError

logger = logging.getLogger(__name__)

KAFKA_VERSION = "4.3.1"
APICURIO_VERSION = "3.0.9"
POM = Path(__file__).parent.parent / "kafka" / "pom.xml"


class RuntimeMissing(PipelineError):
    """A tool the embedded runtime needs (java, mvn) is not installed, or a download failed."""


def cache_dir() -> Path:
    return Path(paths_from_env().cache)


def java() -> str:
    path = shutil.which("java")
    if not path:
        raise RuntimeMissing(
            "java was not found on PATH; the embedded Kafka broker and registry need Java 17 or "
            "newer (Debian: apt-get install openjdk-17-jre-headless), or point "
            "KAFKA_BOOTSTRAP_SERVERS and SCHEMA_REGISTRY_URL at running services"
        )
    return path


def _mvn() -> str:
    path = shutil.which("mvn")
    if not path:
        raise RuntimeMissing(
            "mvn was not found on PATH; it fetches Kafka and the registry from Maven Central "
            "(Debian: apt-get install maven), or point KAFKA_BOOTSTRAP_SERVERS and "
            "SCHEMA_REGISTRY_URL at running services"
        )
    return path


def _run_mvn(args: list[str], what: str) -> None:
    logger.info("fetching %s from Maven Central", what)
    result = subprocess.run(
        [_mvn(), "-q", "-B", *args], capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
        raise RuntimeMissing(f"mvn could not fetch {what}:\n{tail}")


def kafka_libs() -> Path:
    """Directory holding every jar the Kafka broker needs (downloaded once)."""
    target = cache_dir() / f"kafka-{KAFKA_VERSION}"
    done = target / ".complete"
    if not done.exists():
        shutil.rmtree(target, ignore_errors=True)
        _run_mvn(
            [
                "-f",
                str(POM),
                "dependency:copy-dependencies",
                f"-Dkafka.version={KAFKA_VERSION}",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={target / 'libs'}",
            ],
            f"Apache Kafka {KAFKA_VERSION}",
        )
        done.touch()
    return target / "libs"


def registry_jar() -> Path:
    """The Apicurio Registry runner jar (downloaded and unpacked once)."""
    target = cache_dir() / f"apicurio-registry-{APICURIO_VERSION}"
    jar = target / f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"
    if not jar.exists():
        shutil.rmtree(target, ignore_errors=True)
        download = cache_dir() / "downloads"
        _run_mvn(
            [
                "dependency:copy",
                f"-Dartifact=io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all",
                f"-DoutputDirectory={download}",
            ],
            f"Apicurio Registry {APICURIO_VERSION}",
        )
        archive = download / f"apicurio-registry-app-{APICURIO_VERSION}-all.tar.gz"
        partial = target.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(partial, filter="data")
        partial.rename(target)
        archive.unlink()
    return jar
