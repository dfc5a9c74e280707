"""The pytest plugin as a user's project meets it: a Django project made by `startproject`,
declared by `pipeline init`, whose own tests use the plugin's fixtures (run with pytester)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

from deploy import scaffold
from schemas import project as projects

pytest_plugins = ["pytester"]


def plugin_args() -> list[str]:
    """The plugin comes through its entry point once the package is (re)installed; an older
    install names it explicitly."""
    if entry_points(group="pytest11", name="event_pipeline"):
        return []
    return ["-p", "deploy.pytest_plugin"]


def make_django_project(pytester, monkeypatch, name: str = "billing_site") -> projects.Project:
    """A fresh Django project with the events app, declared, with one event of its own."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", name, str(pytester.path)], check=True
    )
    settings = pytester.path / name / "settings.py"
    settings.write_text(settings.read_text().replace(
        "INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "producer_django.events",', 1
    ))
    project = scaffold.init_project(pytester.path, out=lambda line: None)
    scaffold.new_event(project, "InvoiceIssued", topic="billing.invoices", key="invoice_id",
                       fields=["amount_cents:long"], out=lambda line: None)
    monkeypatch.setenv(projects.ENV_VAR, str(pytester.path))
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", f"{name}.settings")
    return project


# Without pytest-django, a project's conftest sets Django up itself.
DJANGO_CONFTEST = """
import django
import pytest


def pytest_configure(config):
    django.setup()


@pytest.fixture(scope="session", autouse=True)
def database():
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
"""


def test_published_events_captures_what_publish_wrote_during_the_test(pytester, monkeypatch):
    make_django_project(pytester, monkeypatch)
    pytester.makeconftest(DJANGO_CONFTEST)
    pytester.makepyfile(
        test_invoices="""
        import pytest
        from django.db import transaction
        from django.test import TestCase

        from producer_django.events.publish import publish


        class InvoiceTests(TestCase):
            @pytest.fixture(autouse=True)
            def capture(self, published_events):
                self.published = published_events

            def test_publish_is_captured(self):
                assert len(self.published) == 0
                publish("InvoiceIssued", {"invoice_id": "inv-1", "amount_cents": 1200})
                (event,) = self.published
                assert event.event_type == "InvoiceIssued"
                assert event.topic == "billing.invoices"
                assert event.key == "inv-1"
                assert event.payload["amount_cents"] == 1200
                assert event.payload["event_id"] == event.event_id


        def test_events_of_this_test_in_order(published_events):
            with transaction.atomic():
                publish("ExampleRecorded", {"example_id": "e-1"})
            publish("InvoiceIssued", {"invoice_id": "inv-2", "amount_cents": 5})
            assert [e.event_type for e in published_events] == ["ExampleRecorded", "InvoiceIssued"]
            assert [e.key for e in published_events.of_type("InvoiceIssued")] == ["inv-2"]


        def test_events_of_earlier_tests_are_not_included(published_events):
            assert list(published_events) == []
        """
    )

    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)


def test_published_events_without_the_events_app_says_what_to_configure(pytester, monkeypatch):
    make_django_project(pytester, monkeypatch)
    settings = pytester.path / "billing_site" / "settings.py"
    settings.write_text(settings.read_text().replace('    "producer_django.events",\n', "", 1))
    pytester.makepyfile(
        test_x="""
        def test_x(published_events):
            pass
        """
    )

    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(['*add "producer_django.events" to INSTALLED_APPS*'])


def test_handler_runner_is_the_brokerless_runner(pytester):
    pytester.makepyfile(
        test_runner="""
        from consumers.testing import run_handler


        def test_runner(handler_runner):
            assert handler_runner is run_handler
        """
    )

    result = pytester.runpytest_subprocess(*plugin_args(), "-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


def test_importing_the_plugin_starts_and_imports_nothing_heavy():
    probe = (
        "import sys, deploy.pytest_plugin\n"
        "heavy = ('django', 'confluent_kafka', 'schemas', 'producer_django', 'consumers')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy\n"
        "             or (m.startswith('deploy.') and m != 'deploy.pytest_plugin')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
