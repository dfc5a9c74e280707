"""The plugin's session fixtures in a user's project, pointed at this session's broker and
registry through the env overrides: nothing started, the project's catalog applied."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from confluent_kafka.admin import AdminClient

from deploy import scaffold
from schemas import catalog
from schemas import project as projects

pytestmark = pytest.mark.integration
pytest_plugins = ["pytester"]


def plugin_args() -> list[str]:
    """The plugin comes through its entry point once the package is (re)installed; an older
    install names it explicitly."""
    if entry_points(group="pytest11", name="event_pipeline"):
        return []
    return ["-p", "deploy.pytest_plugin"]


def test_pipeline_settings_use_the_given_cluster_and_apply_the_project_catalog(
    pytester, monkeypatch, settings, registry_client, unique
):
    name = f"plugin_{unique}"
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", name, str(pytester.path)], check=True
    )
    project = scaffold.init_project(pytester.path, out=lambda line: None)
    (event,) = catalog.build(project.schemas, project.topics).event_types.values()
    monkeypatch.setenv(projects.ENV_VAR, str(pytester.path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", settings.bootstrap_servers)
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", settings.schema_registry_url)
    pytester.makepyfile(
        test_cluster="""
        import os


        def test_the_session_uses_the_given_cluster(pipeline_stack, pipeline_settings):
            assert pipeline_stack.external == {"kafka", "registry"}
            assert pipeline_settings.bootstrap_servers == os.environ["KAFKA_BOOTSTRAP_SERVERS"]
            assert pipeline_settings.schema_registry_url == os.environ["SCHEMA_REGISTRY_URL"]
        """
    )

    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")

    admin = AdminClient(settings.kafka_conf())
    try:
        result.assert_outcomes(passed=1)
        assert event.topic in admin.list_topics(timeout=10).topics
        assert event.subject in registry_client.get_subjects()
    finally:
        if event.topic in admin.list_topics(timeout=10).topics:
            admin.delete_topics([event.topic])[event.topic].result(timeout=30)
        if event.subject in registry_client.get_subjects():
            registry_client.delete_subject(event.subject, permanent=False)
