from producer_django.events import conf


def test_defaults_are_valid():
    assert conf.problems(dict(conf.DEFAULTS)) == []


def test_unknown_key_is_named_with_the_known_keys_as_hint():
    [problem] = conf.problems({"BATCHSIZE": 10})
    assert problem.code == "unknown"
    assert "BATCHSIZE" in problem.message
    assert "BATCH_SIZE" in problem.hint


def test_wrong_type_names_key_and_expected_type():
    [problem] = conf.problems({"BATCH_SIZE": "100"})
    assert problem.code == "type"
    assert "BATCH_SIZE" in problem.message and "int" in problem.message


def test_bool_is_not_an_int():
    assert conf.problems({"BATCH_SIZE": True})[0].code == "type"


def test_relay_owned_kafka_keys_are_rejected():
    [problem] = conf.problems({"PRODUCER_CONFIG": {"acks": "1", "client.id": "x"}})
    assert "acks" in problem.message and "client.id" not in problem.message


def test_not_a_dict():
    [problem] = conf.problems(["BATCH_SIZE"])
    assert problem.key == "PIPELINE"


def test_negative_and_zero_values():
    codes = {p.key: p.code for p in conf.problems({"BATCH_SIZE": 0, "RETENTION_S": -1})}
    assert codes == {"BATCH_SIZE": "value", "RETENTION_S": "value"}
