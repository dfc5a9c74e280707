"""`pipeline init` and `pipeline schemas new` in a project made by `django-admin startproject`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from deploy import cli, scaffold
from schemas import catalog
from schemas import project as projects

REPO = Path(__file__).resolve().parents[3]

@pytest.fixture(scope="module")
def startproject(tmp_path_factory):
    template = tmp_path_factory.mktemp("template")
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "billing_site", str(template)],
        check=True,
    )
    return template


@pytest.fixture
def site(startproject, tmp_path):
    """A fresh copy of a Django project that has never heard of the pipeline."""
    root = tmp_path / "site"
    shutil.copytree(startproject, root)
    return root


@pytest.fixture
def initialised(site):
    project = scaffold.init_project(site, out=lambda line: None)
    projects.use(project)
    yield project
    projects.use(None)


def _snapshot(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _fields(path) -> dict[str, dict]:
    return {f["name"]: f for f in json.loads(path.read_text())["fields"]}


def test_init_declares_a_project_that_loads(site):
    lines = []
    project = scaffold.init_project(site, out=lines.append)

    assert project.django_settings == "billing_site.settings"
    assert project.web == "billing_site.wsgi:application"
    assert project.schemas == ((site / "billing_site" / "events" / "avro").resolve(),)
    assert project.topics == (site / "billing_site" / "events" / "topics.toml").resolve()
    built = catalog.build(project.schemas, project.topics)
    example = built.event_type(scaffold.EXAMPLE_EVENT)
    assert example.topic == "billing_site.examples"
    assert example.key_field == scaffold.EXAMPLE_KEY
    assert example.full_name == f"billing_site.events.{scaffold.EXAMPLE_EVENT}"
    output = "\n".join(lines)
    assert '"producer_django.events" to INSTALLED_APPS in billing_site/settings.py' in output
    assert "python manage.py migrate" in output and "pipeline up" in output


def test_example_schema_has_the_shared_metadata_fields_and_one_payload_field(initialised):
    # The shop's schemas are the reference for the metadata fields' types.
    reference = _fields(REPO / "schemas" / "shop" / "UserRegistered.avsc")
    fields = _fields(catalog.event_type(scaffold.EXAMPLE_EVENT).schema_path)

    assert list(fields)[: len(catalog.METADATA_FIELDS)] == list(catalog.METADATA_FIELDS)
    for name in catalog.METADATA_FIELDS:
        for key in ("type", "default"):
            assert fields[name].get(key) == reference[name].get(key), (name, key)
    assert set(fields) - set(catalog.METADATA_FIELDS) == {scaffold.EXAMPLE_KEY}


def test_init_keeps_an_existing_pyproject_and_refuses_a_second_declaration(site):
    original = '[project]\nname = "billing"\n\n# Lint settings.\n[tool.ruff]\nline-length = 99\n'
    (site / "pyproject.toml").write_text(original)
    scaffold.init_project(site, out=lambda line: None)
    declared = (site / "pyproject.toml").read_text()
    assert declared.startswith(original)
    before = _snapshot(site)

    with pytest.raises(scaffold.ScaffoldError, match="already has a .tool.event-pipeline. table"
                       ".*--force"):
        scaffold.init_project(site, out=lambda line: None)
    assert _snapshot(site) == before


def test_init_force_replaces_only_the_declaration_and_keeps_user_files(site):
    (site / "pyproject.toml").write_text(
        '[project]\nname = "billing"\n\n'
        '[tool.event-pipeline]\ndjango_settings = "old.settings"\nschemas = ["nowhere"]\n\n'
        '[tool.event-pipeline.workers]\nold = "old.handlers:Old"\n\n'
        '# Lint settings.\n[tool.ruff]\nline-length = 99\n'
    )
    topics_file = site / "billing_site" / "events" / "topics.toml"
    scaffold.init_project(site, force=True, out=lambda line: None)
    topics_file.write_text(topics_file.read_text() + "# my own note\n")

    lines = []
    project = scaffold.init_project(site, force=True, out=lines.append)

    data = tomllib.loads((site / "pyproject.toml").read_text())
    assert data["project"] == {"name": "billing"}
    assert data["tool"]["ruff"] == {"line-length": 99}
    assert "# Lint settings.\n[tool.ruff]" in (site / "pyproject.toml").read_text()
    assert data["tool"]["event-pipeline"]["django_settings"] == "billing_site.settings"
    assert "workers" not in data["tool"]["event-pipeline"]
    assert topics_file.read_text().endswith("# my own note\n")  # never overwritten
    assert any(line.startswith("kept") for line in lines)
    assert project.workers == {}


def test_init_needs_manage_py_or_a_settings_module(tmp_path):
    with pytest.raises(scaffold.ScaffoldError, match="no manage.py in .*--dir"):
        scaffold.init_project(tmp_path, out=lambda line: None)
    (tmp_path / "manage.py").write_text("print('hello')\n")
    with pytest.raises(scaffold.ScaffoldError, match="does not set DJANGO_SETTINGS_MODULE.*"
                       "--settings"):
        scaffold.init_project(tmp_path, out=lambda line: None)


def test_init_undoes_everything_when_the_result_does_not_load(site):
    events = site / "billing_site" / "events"
    events.mkdir()
    # A catalog of the user's that lists an event nobody wrote a schema for.
    (events / "topics.toml").write_text('[topics."billing.invoices"]\n'
                                        'events = { InvoiceIssued = "invoice_id" }\n')
    before = _snapshot(site)

    with pytest.raises(scaffold.ScaffoldError, match="nothing was changed.*InvoiceIssued"):
        scaffold.init_project(site, out=lambda line: None)
    assert _snapshot(site) == before
    assert not (events / "avro").exists()


def test_new_event_on_a_new_topic(initialised):
    path = scaffold.new_event(
        initialised, "InvoiceIssued", topic="billing.invoices", key="invoice_id",
        fields=["amount_cents:long", "email:string:pii", "note:string?", "due:timestamp"],
        out=lambda line: None,
    )

    assert path == initialised.schemas[0] / "InvoiceIssued.avsc"
    fields = _fields(path)
    assert list(fields) == [*catalog.METADATA_FIELDS, "invoice_id", "amount_cents", "email",
                            "note", "due"]
    assert fields["invoice_id"]["type"] == "string"
    assert fields["email"]["pii"] is True
    assert fields["note"] == {"name": "note", "type": ["null", "string"], "default": None}
    assert fields["due"]["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    event = catalog.build(initialised.schemas, initialised.topics).event_type("InvoiceIssued")
    assert (event.topic, event.key_field) == ("billing.invoices", "invoice_id")
    assert event.full_name == "billing_site.events.InvoiceIssued"  # the project's namespace


def test_new_event_joins_an_existing_topic_and_keeps_the_catalog_layout(initialised):
    text = initialised.topics.read_text()
    line = 'events = { ExampleRecorded = "example_id" }'
    initialised.topics.write_text(text.replace(line, line + "  # the example\npartitions = 6"))
    before = initialised.topics.read_text()

    scaffold.new_event(initialised, "ExampleCorrected", topic="billing_site.examples",
                       key="example_id", namespace="billing.audit", out=lambda line: None)

    after = initialised.topics.read_text()
    assert after == before.replace(
        'ExampleRecorded = "example_id" }',
        'ExampleRecorded = "example_id", ExampleCorrected = "example_id" }',
    )
    built = catalog.build(initialised.schemas, initialised.topics)
    assert built.event_type("ExampleCorrected").full_name == "billing.audit.ExampleCorrected"
    assert [e.name for e in built.events_on("billing_site.examples")] == [
        "ExampleRecorded", "ExampleCorrected"]


def test_new_event_on_a_topic_whose_events_are_a_table_of_their_own(initialised):
    initialised.topics.write_text(
        '[defaults]\npartitions = 3\n\n[topics."billing.invoices"]\npartitions = 6\n\n'
        '[topics."billing.invoices".events]\nExampleRecorded = "example_id"\n\n'
        '[topics."billing.other"]\nevents = {}\n'
    )
    scaffold.new_event(initialised, "InvoicePaid", topic="billing.invoices", key="invoice_id",
                       out=lambda line: None)
    scaffold.new_event(initialised, "OtherThing", topic="billing.other", key="other_id",
                       out=lambda line: None)

    built = catalog.build(initialised.schemas, initialised.topics)
    assert built.event_type("InvoicePaid").topic == "billing.invoices"
    assert built.event_type("OtherThing").topic == "billing.other"


def test_new_event_refuses_an_existing_name_and_changes_nothing(initialised):
    before = _snapshot(initialised.root)
    with pytest.raises(scaffold.ScaffoldError, match="'ExampleRecorded' already exists"):
        scaffold.new_event(initialised, "ExampleRecorded", topic="x.y", key="example_id",
                           out=lambda line: None)
    with pytest.raises(scaffold.ScaffoldError, match="unknown type 'strin'"):
        scaffold.new_event(initialised, "Bad", topic="x.y", key="k", fields=["a:strin"],
                           out=lambda line: None)
    with pytest.raises(scaffold.ScaffoldError, match="metadata fields"):
        scaffold.new_event(initialised, "Bad", topic="x.y", key="k", fields=["event_id:string"],
                           out=lambda line: None)
    with pytest.raises(scaffold.ScaffoldError, match="not a Kafka topic name"):
        scaffold.new_event(initialised, "Bad", topic="x y", key="k", out=lambda line: None)
    assert _snapshot(initialised.root) == before


def test_new_event_undoes_its_schema_when_the_catalog_cannot_be_edited(initialised):
    initialised.topics.write_text(
        '[topics."billing_site.examples"]\nevents.ExampleRecorded = "example_id"\n'
    )
    before = _snapshot(initialised.root)

    with pytest.raises(scaffold.ScaffoldError, match="add `Another = \"example_id\"`.* by hand"):
        scaffold.new_event(initialised, "Another", topic="billing_site.examples",
                           key="example_id", out=lambda line: None)
    assert _snapshot(initialised.root) == before


def test_cli_init_and_schemas_new(site, monkeypatch, capsys):
    monkeypatch.chdir(site)
    monkeypatch.delenv(projects.ENV_VAR, raising=False)
    projects.use(None)
    try:
        assert cli.main(["init"]) == 0
        assert "Next steps" in capsys.readouterr().out
        assert cli.main(["init"]) == 1
        assert "--force" in capsys.readouterr().err
        assert cli.main(["schemas", "new", "InvoiceIssued", "--topic", "billing.invoices",
                         "--key", "invoice_id", "--field", "amount_cents:long"]) == 0
        assert "InvoiceIssued" in capsys.readouterr().out
        assert cli.main(["schemas", "new", "InvoiceIssued", "--topic", "billing.invoices",
                         "--key", "invoice_id"]) == 1
        assert "already exists" in capsys.readouterr().err
    finally:
        projects.use(None)
    project = projects.load(site / "pyproject.toml")
    assert "InvoiceIssued" in catalog.build(project.schemas, project.topics).event_types
