"""Argument checks of `pipeline replay` that need no broker."""

from __future__ import annotations

from deploy.cli import main


def test_into_group_rejects_export_options(capsys):
    code = main(["replay", "shop.orders", "--into-group", "g1", "--worker", "search",
                 "--where", "event_type=OrderPlaced", "--limit", "3"])
    assert code == 1
    assert "--where, --limit select or shape an export" in capsys.readouterr().err


def test_reprocess_options_need_into_group(capsys):
    code = main(["replay", "shop.orders", "--worker", "search"])
    assert code == 1
    assert "--worker: only used with --into-group" in capsys.readouterr().err


def test_unknown_format_is_refused_by_argparse(capsys):
    try:
        main(["replay", "shop.orders", "--format", "xml"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_unreachable_broker_is_named(monkeypatch, capsys):
    # Returns after the settings' timeout instead of retrying forever.
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    code = main(["replay", "shop.orders"])
    assert code == 3  # retriable: ServiceUnavailable
    assert "Kafka broker at 127.0.0.1:1 is unreachable" in capsys.readouterr().err
