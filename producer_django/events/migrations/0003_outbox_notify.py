"""Wake the relay when outbox rows commit, on PostgreSQL: a statement-level trigger NOTIFYs
channel `events_outbox` after each INSERT. PostgreSQL delivers it at commit, once per
transaction, and not at all for a transaction that rolls back; the idle relay LISTENs
(`producer_django.events.relay.store`). Other databases keep polling, so nothing is created
there."""

from django.db import migrations

CREATE = [
    """
    CREATE OR REPLACE FUNCTION events_outbox_notify() RETURNS trigger AS $$
    BEGIN
        PERFORM pg_notify('events_outbox', '');
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER events_outbox_notify AFTER INSERT ON events_outbox
        FOR EACH STATEMENT EXECUTE FUNCTION events_outbox_notify()
    """,
]
DROP = [
    "DROP TRIGGER IF EXISTS events_outbox_notify ON events_outbox",
    "DROP FUNCTION IF EXISTS events_outbox_notify()",
]


def _on_postgresql(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0002_outbox_dead_letter"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP)),
    ]
