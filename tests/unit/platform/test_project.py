"""The declaration: found, read and validated; each mistake names the key or file and the fix."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from schemas import catalog, project
from schemas.catalog import event_schema
from schemas.errors import ConfigError, PipelineError


def _avsc(folder: Path, name: str, *fields: str, namespace: str = "billing.events") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    schema = event_schema(name, namespace, [{"name": f, "type": "string"} for f in fields])
    path = folder / f"{name}.avsc"
    path.write_text(json.dumps(schema))
    return path


def _project(tmp_path: Path, table: str = "", topics: str | None = None) -> Path:
    _avsc(tmp_path / "avro", "InvoiceIssued", "invoice_id")
    (tmp_path / "topics.toml").write_text(
        topics if topics is not None
        else '[topics."billing.invoices"]\nevents = { InvoiceIssued = "invoice_id" }\n'
    )
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(
        """
        [tool.event-pipeline]
        schemas = ["avro"]
        topics = "topics.toml"
        """
    ) + textwrap.dedent(table))
    return tmp_path / "pyproject.toml"


def test_found_from_a_subfolder_and_typed(tmp_path):
    _project(tmp_path, """
        django_settings = "billing_site.settings"

        [tool.event-pipeline.workers]
        invoices = "billing.handlers:InvoiceMailer"
        mailer = { handler = "billing.handlers:make", options = { retries = 2 } }

        [tool.event-pipeline.streams]
        revenue = { app = "billing.streams:app", table = "revenue", output_topic = "b.rev" }
    """)
    (tmp_path / "billing" / "deep").mkdir(parents=True)
    found = project.find(tmp_path / "billing" / "deep", environ={})
    loaded = project.load(found)
    assert loaded.root == tmp_path.resolve()
    assert loaded.django_settings == "billing_site.settings"
    assert loaded.workers["invoices"].handler == "billing.handlers:InvoiceMailer"
    assert loaded.workers["mailer"].options == {"retries": 2}
    assert loaded.workers["invoices"].group == "worker-invoices"
    assert loaded.streams["revenue"].app_id == "streams-revenue"
    assert loaded.streams["revenue"].output_topic == "b.rev"


def test_pipeline_project_names_the_folder(tmp_path):
    _project(tmp_path)
    assert project.find(Path("/"), environ={"PIPELINE_PROJECT": str(tmp_path)}) == (
        tmp_path / "pyproject.toml"
    ).resolve()


def test_no_declaration_says_how_to_make_one(tmp_path):
    with pytest.raises(project.ProjectError, match="pipeline init"):
        project.find(tmp_path, environ={})


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('colour = "blue"\n', r"unknown keys \['colour'\]"),
        ('django_settings = "not a path"\n', "`django_settings`.*dotted path"),
        ('[tool.event-pipeline.workers]\nInvoices = "a.b:C"\n', "workers.Invoices"),
        ('[tool.event-pipeline.workers]\nx = { handler = "a.b:C", retries = 1 }\n',
         r"workers.x: unknown keys \['retries'\]"),
        ('[tool.event-pipeline.streams]\nx = { table = "t" }\n', "streams.x: `app`"),
        ('[tool.event-pipeline.schedule]\nn = { task = "a.b", every = "5s", cron = "* * * * *" }\n',
         "exactly one of `every`"),
    ],
)
def test_bad_keys_are_named(tmp_path, table, named):
    with pytest.raises(project.ProjectError, match=named):
        project.load(_project(tmp_path, table))


def test_missing_folder_and_file_are_named(tmp_path):
    source = _project(tmp_path)
    source.write_text('[tool.event-pipeline]\nschemas = ["nowhere"]\ntopics = "topics.toml"\n')
    with pytest.raises(project.ProjectError, match="`schemas` folder 'nowhere' does not exist"):
        project.load(source)
    source.write_text('[tool.event-pipeline]\nschemas = ["avro"]\ntopics = "missing.toml"\n')
    with pytest.raises(project.ProjectError, match="`topics` file 'missing.toml' does not exist"):
        project.load(source)


def test_unimportable_handler_names_the_key(tmp_path):
    with pytest.raises(project.ProjectError, match="`workers.x` = 'no_such_pkg.mod:H'.*import"):
        project.import_object("no_such_pkg.mod:H", "workers.x")
    with pytest.raises(project.ProjectError, match="has no attribute 'Nope'"):
        project.import_object("json:Nope", "workers.x")


def test_the_catalog_comes_from_the_declaration(tmp_path):
    loaded = project.load(_project(tmp_path))
    built = catalog.build(loaded.schemas, loaded.topics)
    spec = built.event_type("InvoiceIssued")
    assert (spec.topic, spec.key_field, spec.full_name) == (
        "billing.invoices", "invoice_id", "billing.events.InvoiceIssued"
    )
    assert spec.subject == "billing.invoices-billing.events.InvoiceIssued"
    with pytest.raises(catalog.UnknownEventType, match="known types: InvoiceIssued") as caught:
        built.event_type("InvoiceIsued")
    assert isinstance(caught.value, PipelineError)


def test_an_event_in_no_topic_names_its_file(tmp_path):
    loaded = project.load(_project(tmp_path))
    stray = _avsc(tmp_path / "avro", "InvoicePaid", "invoice_id")
    with pytest.raises(ConfigError, match=f"events in no topic: InvoicePaid.*{stray.name}"):
        catalog.build(loaded.schemas, loaded.topics)


def test_a_topic_event_without_a_schema_is_named(tmp_path):
    topics = '[topics."billing.invoices"]\nevents = { InvoiceIssued = "invoice_id", Gone = "x" }\n'
    loaded = project.load(_project(tmp_path, topics=topics))
    with pytest.raises(ConfigError, match="lists event 'Gone', but no .avsc"):
        catalog.build(loaded.schemas, loaded.topics)


def test_two_events_with_one_short_name_are_an_error(tmp_path):
    loaded = project.load(_project(tmp_path))
    _avsc(tmp_path / "more", "InvoiceIssued", "invoice_id", namespace="other.events")
    with pytest.raises(ConfigError, match="two events named 'InvoiceIssued'"):
        catalog.build((*loaded.schemas, tmp_path / "more"), loaded.topics)


def test_a_key_field_not_in_the_schema_is_named(tmp_path):
    topics = '[topics."billing.invoices"]\nevents = { InvoiceIssued = "invoice_no" }\n'
    loaded = project.load(_project(tmp_path, topics=topics))
    with pytest.raises(ConfigError, match="keys InvoiceIssued by 'invoice_no'"):
        catalog.build(loaded.schemas, loaded.topics)


def test_a_schema_without_the_metadata_fields_is_named(tmp_path):
    loaded = project.load(_project(tmp_path))
    bare = tmp_path / "avro" / "InvoiceIssued.avsc"
    bare.write_text(json.dumps({"type": "record", "name": "InvoiceIssued",
                                "fields": [{"name": "invoice_id", "type": "string"}]}))
    with pytest.raises(ConfigError, match="InvoiceIssued.avsc: record InvoiceIssued lacks"):
        catalog.build(loaded.schemas, loaded.topics)


def test_the_repository_declares_the_shop():
    shop = project.current()
    assert set(shop.workers) == {"notifications", "search", "cache", "tasks"}
    assert set(shop.streams) == {"fanout", "inventory"}
    assert "shop.orders" in catalog.topics()


def test_up_names_a_declared_module_that_does_not_exist(tmp_path):
    from deploy import preflight

    loaded = project.load(_project(tmp_path, """
        [tool.event-pipeline.workers]
        invoices = "billing.handlers:InvoiceMailer"
        shop = "consumers.shop.search:SearchIndexer"
    """))
    with pytest.raises(project.ProjectError, match="`workers.invoices`.*'billing.handlers'"):
        preflight.check(loaded)
    (tmp_path / "billing").mkdir()
    (tmp_path / "billing" / "__init__.py").write_text("")
    (tmp_path / "billing" / "handlers.py").write_text("")
    assert preflight.missing_modules(loaded) == []
