"""The text of `pipeline up`'s summary and of `pipeline status`."""

from __future__ import annotations

from deploy.runtime import summary

TOKEN = "0123456789abcdef0123456789abcdef"


def _report(healthy: bool) -> dict:
    pid = 4242 if healthy else None
    return {
        "home": "/srv/home",
        "kafka": {"bootstrap_servers": "127.0.0.1:9092", "cluster_id": "abc"},
        "schema_registry": {"url": "http://127.0.0.1:8081/apis/ccompat/v7"},
        "django": {
            "url": "http://127.0.0.1:8000",
            "api_token": TOKEN,
            "admin_url": "http://127.0.0.1:8000/admin/",
            "admin_user": "dev",
            "admin_password_file": "/srv/home/django/admin_password",
        },
        "streams": {"url": "http://127.0.0.1:6066",
                    "apps": {"stats": {"app_id": "stats", "url": "http://127.0.0.1:6066"}}},
        "smtp": {"host": "127.0.0.1", "port": 8025, "maildir": "/srv/home/smtp/Maildir"},
        "workers": {"mailer": {"group": "worker-mailer",
                               "metrics_url": "http://127.0.0.1:9410/metrics"}},
        "components": {
            name: {"healthy": healthy, "pid": pid}
            for name in ("kafka", "schema-registry", "django", "relay", "streams-stats", "smtp",
                         "worker-mailer")
        },
    }


def test_status_of_a_stopped_stack_shows_no_address_and_no_token():
    text = "\n".join(summary.status_lines(_report(healthy=False)))
    assert "http://" not in text and "127.0.0.1" not in text
    assert TOKEN not in text
    for name in ("kafka", "django", "streams-stats", "worker-mailer"):
        assert f"{name:<22} stopped" in text


def test_status_of_a_running_stack_shows_addresses_and_hides_the_token():
    text = "\n".join(summary.status_lines(_report(healthy=True)))
    assert "http://127.0.0.1:8000" in text and "http://127.0.0.1:6066" in text
    assert "127.0.0.1:9092" in text and "127.0.0.1:8025" in text
    assert TOKEN not in text
    assert "--show-token" in text
    assert "/srv/home/django/admin_password" in text


def test_status_shows_the_token_when_asked():
    text = "\n".join(summary.status_lines(_report(healthy=True), show_token=True))
    assert TOKEN in text


def test_status_names_an_unhealthy_component_and_its_problem():
    report = _report(healthy=True)
    report["components"]["kafka"] = {"healthy": False, "pid": 7, "problem": "not ours"}
    line = next(x for x in summary.status_lines(report) if x.startswith("kafka "))
    assert "UNHEALTHY" in line and "not ours" in line and "9092" not in line


def test_status_of_an_external_broker():
    report = _report(healthy=True)
    report["components"]["kafka"] = {"healthy": False, "pid": None, "external": True}
    line = next(x for x in summary.status_lines(report) if x.startswith("kafka "))
    assert "UNREACHABLE" in line and "external" in line


def test_up_summary_says_where_to_go_next():
    text = "\n".join(summary.up_lines(_report(healthy=True), "pipeline status"))
    assert "http://127.0.0.1:8000\n" in text + "\n"
    assert "http://127.0.0.1:8000/admin/" in text
    assert "password in /srv/home/django/admin_password" in text
    assert "/srv/home/smtp/Maildir" in text
    assert text.rstrip().endswith("pipeline status")
    assert TOKEN not in text


def test_up_summary_of_a_project_without_web_app():
    report = _report(healthy=True)
    del report["django"]
    lines = summary.up_lines(report, "pipeline status")
    assert not [line for line in lines if line.startswith(("web", "admin"))]


def test_status_command_names_the_home_it_was_run_for():
    assert summary.status_command({}) == "pipeline status"
    command = summary.status_command({"PIPELINE_HOME": "/a b"})
    assert command == "PIPELINE_HOME='/a b' pipeline status"
