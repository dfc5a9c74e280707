"""The declaration of tasks: queues, the implicit tasks worker(s), schedule entries checked,
the built-in task event and topics in the catalog and the topic catalog."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from schemas import catalog
from schemas.project import ProjectError, ScheduleSpec, parse, parse_cron, parse_every


def _project(tmp_path: Path, **extra):
    (tmp_path / "avro").mkdir(exist_ok=True)
    (tmp_path / "topics.toml").write_text("[defaults]\npartitions = 2\n")
    data = {"django_settings": "site.settings", "schemas": ["avro"], "topics": "topics.toml",
            **extra}
    return parse(data, tmp_path / "pyproject.toml")


def test_declaring_tasks_adds_one_worker_on_the_default_queue(tmp_path):
    project = _project(tmp_path, tasks=["billing.tasks"])
    assert project.task_queues == ("default",)
    spec = project.worker("tasks")
    assert spec.handler == "producer_django.tasks.worker:TaskWorker"
    assert dict(spec.options) == {"name": "tasks", "queues": ["default"]}
    assert spec.group == "worker-tasks"


def test_several_queues_get_one_worker_each(tmp_path):
    project = _project(tmp_path, tasks=[], task_queues=["default", "mail"])
    assert sorted(project.workers) == ["tasks-default", "tasks-mail"]
    assert project.worker("tasks-mail").options["queues"] == ["mail"]


def test_no_tasks_no_worker(tmp_path):
    project = _project(tmp_path)
    assert not project.uses_tasks and "tasks" not in project.workers


def test_tasks_need_django_settings(tmp_path):
    with pytest.raises(ProjectError, match="add django_settings"):
        _project(tmp_path, django_settings=None, tasks=["a.tasks"])


def test_a_worker_named_tasks_collides(tmp_path):
    with pytest.raises(ProjectError, match="taken by the background tasks worker"):
        _project(tmp_path, tasks=[], workers={"tasks": "a.b:C"})


@pytest.mark.parametrize("entry, message", [
    ({"task": "a.tasks.x", "every": "30"}, "not an interval"),
    ({"task": "a.tasks.x", "cron": "61 * * * *"}, "not a valid minute"),
    ({"task": "a.tasks.x", "cron": "* * *"}, "five fields"),
    ({"task": "a.tasks.x"}, "exactly one of"),
    ({"task": "x", "every": "1s"}, "`task`"),
    ({"task": "a.tasks.x", "every": "1s", "args": "nope"}, "`args` must be a list"),
])
def test_bad_schedule_entries_are_named(tmp_path, entry, message):
    with pytest.raises(ProjectError, match=message):
        _project(tmp_path, schedule={"nightly": entry})


def test_a_schedule_alone_turns_tasks_on(tmp_path):
    project = _project(tmp_path, schedule={"n": {"task": "a.tasks.x", "cron": "*/5 * * * *"}})
    assert project.uses_tasks and "tasks" in project.workers


def test_every_and_cron_ticks_are_aligned():
    assert parse_every("500ms") == 500 and parse_every("5m") == 300_000
    spec = ScheduleSpec("s", "a.b", every="2s")
    assert spec.latest_tick_ms(10_999) == 10_000
    assert spec.ticks_after(10_000, 16_500) == [12_000, 14_000, 16_000]
    cron = ScheduleSpec("c", "a.b", cron="*/15 3 * * *")
    day = 1_796_083_200_000  # a midnight, UTC
    assert cron.ticks_after(day, day + 4 * 3600_000) == [
        day + 3 * 3600_000 + m * 60_000 for m in (0, 15, 30, 45)]
    assert cron.latest_tick_ms(day + 5 * 3600_000) == day + 3 * 3600_000 + 45 * 60_000
    assert time.gmtime(day / 1000).tm_hour == 0


def test_cron_sunday_is_0_or_7():
    assert parse_cron("0 0 * * 7")[4] == frozenset({0})


def test_the_catalog_gains_the_task_event_and_queue_topics(tmp_path):
    from deploy.topics import project_catalog

    project = _project(tmp_path, tasks=[], task_queues=["default", "mail"])
    built = catalog._for(project)
    spec = built.event_type("TaskRequested")
    assert spec.topic == "tasks.default" and spec.key_field == "root_id"
    assert {"tasks.default", "tasks.mail"} <= set(built.topics())
    assert [e.name for e in built.events_on("tasks.mail")] == ["TaskRequested"]
    names = {s.name for s in project_catalog(project)}
    assert {"tasks.default", "tasks.mail", "worker-tasks-mail.retry.1",
            "worker-tasks-mail.dlq"} <= names
