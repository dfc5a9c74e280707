"""Bad CLI input fails naming it; library failures become one clear PipelineError."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.schema_registry.error import SchemaRegistryError

from consumers.replay.errors import ReplayError
from consumers.replay.export import choose_format
from deploy import failures, schema_folder
from schemas.config import ConnectionSettings
from schemas.errors import ConfigError, ServiceUnavailable

SETTINGS = ConnectionSettings(bootstrap_servers="127.0.0.1:1",
                              schema_registry_url="http://127.0.0.1:2/apis/ccompat/v7")
VALID = {"type": "record", "name": "InvoiceIssued", "namespace": "billing",
         "fields": [{"name": "invoice_id", "type": "string"}]}


@pytest.fixture
def catalog_files(tmp_path):
    return {"InvoiceIssued.avsc": tmp_path / "catalog" / "InvoiceIssued.avsc"}


def test_a_folder_that_does_not_exist_is_named(tmp_path, catalog_files):
    missing = tmp_path / "nonexistent"
    with pytest.raises(schema_folder.SchemaFolderError, match="does not exist") as caught:
        schema_folder.check(missing, catalog_files)
    assert str(missing) in str(caught.value) and "InvoiceIssued.avsc" in str(caught.value)


def test_an_empty_folder_is_named(tmp_path, catalog_files):
    with pytest.raises(schema_folder.SchemaFolderError, match="holds no .avsc files"):
        schema_folder.check(tmp_path, catalog_files)


def test_a_file_instead_of_a_folder_is_named(tmp_path, catalog_files):
    path = tmp_path / "InvoiceIssued.avsc"
    path.write_text(json.dumps(VALID))
    with pytest.raises(schema_folder.SchemaFolderError, match="is not a folder"):
        schema_folder.check(path, catalog_files)


def test_malformed_json_names_the_file_and_line(tmp_path, catalog_files):
    (tmp_path / "InvoiceIssued.avsc").write_text('{"type": "record",\n  "name": }')
    with pytest.raises(schema_folder.SchemaFolderError) as caught:
        schema_folder.check(tmp_path, catalog_files)
    assert "InvoiceIssued.avsc: not valid JSON (line 2" in str(caught.value)


def test_json_that_is_not_avro_names_the_file(tmp_path, catalog_files):
    broken = dict(VALID, fields=[{"name": "amount", "type": "no-such-type"}])
    (tmp_path / "InvoiceIssued.avsc").write_text(json.dumps(broken))
    with pytest.raises(schema_folder.SchemaFolderError, match="InvoiceIssued.avsc: not a valid"):
        schema_folder.check(tmp_path, catalog_files)


def test_a_file_the_catalog_does_not_know_is_named(tmp_path, catalog_files):
    (tmp_path / "InvoiceIssued.avsc").write_text(json.dumps(VALID))
    (tmp_path / "InvoiceIsued.avsc").write_text(json.dumps(VALID))
    with pytest.raises(schema_folder.SchemaFolderError, match="InvoiceIsued.avsc match no"):
        schema_folder.check(tmp_path, catalog_files)


def test_a_good_folder_passes(tmp_path, catalog_files):
    (tmp_path / "InvoiceIssued.avsc").write_text(json.dumps(VALID))
    assert schema_folder.check(tmp_path, catalog_files) == [tmp_path / "InvoiceIssued.avsc"]


@pytest.mark.parametrize("out", ["x.xlsx", "x", "report.txt"])
def test_an_unknown_output_extension_lists_the_formats(out):
    with pytest.raises(ReplayError) as caught:
        choose_format(None, out)
    message = str(caught.value)
    assert out in message and "jsonl, csv, avro, parquet" in message and "--format" in message


def test_format_wins_over_the_extension_and_known_extensions_choose():
    assert choose_format("csv", "x.xlsx") == "csv"
    assert choose_format(None, "x.parquet") == "parquet"
    assert choose_format(None, "x.NDJSON") == "jsonl"
    assert choose_format(None, None) == choose_format(None, "-") == "jsonl"


def test_an_unreachable_broker_is_a_retriable_error_naming_the_address():
    exc = KafkaException(KafkaError(KafkaError._TRANSPORT, "Failed to get metadata"))
    error = failures.as_pipeline_error(exc, SETTINGS)
    assert isinstance(error, ServiceUnavailable) and error.retriable
    assert "127.0.0.1:1" in str(error) and "pipeline up" in str(error)
    assert "\n" not in str(error)


def test_a_refusal_by_the_broker_is_a_failure_not_unreachable():
    exc = KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "not allowed"))
    error = failures.as_pipeline_error(exc, SETTINGS)
    assert not error.retriable and "not allowed" in str(error)


def test_a_bad_client_setting_points_at_the_variables():
    exc = KafkaException(KafkaError(KafkaError._INVALID_ARG, "No such configuration property"))
    assert isinstance(failures.as_pipeline_error(exc, SETTINGS), ConfigError)


def test_registry_errors_map_by_status():
    down = failures.as_pipeline_error(SchemaRegistryError(503, 50301, "unavailable"), SETTINGS)
    refused = failures.as_pipeline_error(SchemaRegistryError(409, 409, "exists"), SETTINGS)
    assert down.retriable and "127.0.0.1:2" in str(down)
    assert not refused.retriable and "HTTP 409" in str(refused)


def test_file_errors_name_the_file():
    error = failures.as_pipeline_error(
        FileNotFoundError(2, "No such file or directory", "/no/such/dir/out.csv"), SETTINGS)
    assert "/no/such/dir/out.csv" in str(error) and not error.retriable


def test_bugs_are_not_mapped():
    assert failures.as_pipeline_error(KeyError("x"), SETTINGS) is None
