"""The task API without a broker: names, options, signatures, retries, argument checks."""

from __future__ import annotations

import pytest

from producer_django.tasks import chain, group, task
from producer_django.tasks.errors import BadTaskRequest, TaskArgumentsError, TaskError
from producer_django.tasks.request import TaskRequest, to_json
from producer_django.tasks.task import registered


@task
def add(x, y):
    return x + y


@task(queue="mail", retry_delays=(1, 5), autoretry_for=(OSError,))
def send(address):
    return address


def test_a_task_is_named_by_module_and_function_and_still_callable():
    assert add.name == f"{__name__}.add" and registered(add.name) is add
    assert add(2, 3) == 5


def test_retry_policy():
    assert add.max_retries == 0 and not add.retries_on(RuntimeError(), 1)
    assert send.max_retries == 2
    assert send.retries_on(OSError(), 1) and send.retries_on(OSError(), 2)
    assert not send.retries_on(OSError(), 3) and not send.retries_on(ValueError(), 1)
    assert [send.retry_delay_s(n) for n in (1, 2, 3)] == [1.0, 5.0, 5.0]


def test_unknown_options_are_named():
    with pytest.raises(TaskError, match="unknown options \\['retries'\\]"):
        task(retries=3)


def test_arguments_must_be_json():
    with pytest.raises(TaskArgumentsError, match="not JSON-serialisable"):
        TaskRequest("id", "t", args=[object()]).payload()
    with pytest.raises(TaskArgumentsError):
        to_json(float("nan"), "x")


def test_signatures_compose():
    sig = add.s(1)
    assert (sig.task, sig.args, sig.queue) == (add.name, [1], None)
    assert send.si("a").immutable and send.s("a").queue == "mail"
    assert len((add.s(1, 2) | add.s(3)).steps) == 2
    assert len(group(add.s(i, i) for i in range(4)).tasks) == 4
    with pytest.raises(TaskError, match="not supported"):
        chain(add.s(1, 2), group(add.s(1, 1)))


def test_a_request_round_trips_and_bad_json_is_named():
    request = TaskRequest("id1", "m.t", args=[1, "a"], kwargs={"k": [1]}, queue="q",
                          workflow={"chain": []})
    record = request.payload()
    assert TaskRequest.from_record(record).args == [1, "a"]
    record["kwargs"] = "[1]"
    with pytest.raises(BadTaskRequest, match="`kwargs` must be a JSON object"):
        TaskRequest.from_record(record)
