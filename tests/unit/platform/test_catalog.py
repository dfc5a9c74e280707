import json

import pytest

from deploy import topics
from schemas import catalog


def _fields(schema: dict) -> dict[str, dict]:
    return {f["name"]: f for f in schema["fields"]}


@pytest.mark.parametrize("event", sorted(catalog.event_types()))
def test_every_event_has_the_shared_metadata_fields(event):
    reference = _fields(catalog.event_type("UserRegistered").schema_dict())
    schema = catalog.event_type(event).schema_dict()
    fields = _fields(schema)
    assert schema["namespace"] in ("shop.events", "pipeline.tasks")
    assert schema["name"] == event
    shared = {f["name"]: _without_doc(f) for f in catalog.METADATA_AVRO_FIELDS}
    for name in catalog.METADATA_FIELDS:
        assert _without_doc(fields[name]) == _without_doc(reference[name]) == shared[name], (
            f"{event}.{name} differs from the shared definition"
        )


def _without_doc(field: dict) -> dict:
    return {k: v for k, v in field.items() if k != "doc"}


def test_every_avsc_file_is_in_the_catalog():
    from schemas import project

    (folder,) = project.current().schemas
    files = {p.stem for p in folder.glob("*.avsc")}
    # Besides the shop's own events: the built-in task request, since the shop declares tasks.
    assert files | {"TaskRequested"} == set(catalog.event_types())
    for path in folder.glob("*.avsc"):
        json.loads(path.read_text())


def test_key_field_exists_in_each_schema():
    for spec in catalog.event_types().values():
        assert spec.key_field in _fields(spec.schema_dict()), spec.name


def test_every_event_topic_is_in_the_topic_catalog():
    declared = {t.name for t in topics.project_catalog()}
    assert set(catalog.topics()) <= declared


def test_subjects_follow_the_topic_record_name_strategy():
    spec = catalog.event_type("OrderPlaced")
    assert spec.subject == "shop.orders-shop.events.OrderPlaced"


def test_personal_fields_are_marked_pii():
    user = _fields(catalog.event_type("UserRegistered").schema_dict())
    assert user["email"].get("pii") is True and user["name"].get("pii") is True
    note = _fields(catalog.event_type("NotificationRequested").schema_dict())
    assert note["recipient"].get("pii") is True


def test_unknown_event_type_names_the_known_ones():
    with pytest.raises(KeyError, match="known types: .*UserRegistered"):
        catalog.event_type("UserDeleted")


@pytest.mark.parametrize("event", sorted(catalog.event_types()))
def test_every_event_type_has_a_valid_sample(event):
    from schemas.samples import sample_event
    from schemas.serde import EventSerializer

    EventSerializer(registry=None).validate(event, sample_event(event))
