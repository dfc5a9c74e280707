import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="TaskResult",
            fields=[
                ("task_id", models.CharField(max_length=36, primary_key=True, serialize=False)),
                ("task_name", models.CharField(max_length=200)),
                ("status", models.CharField(choices=[("PENDING", "PENDING"), ("STARTED", "STARTED"), ("RETRY", "RETRY"), ("SUCCESS", "SUCCESS"), ("FAILURE", "FAILURE")], max_length=10)),
                ("result", models.TextField(blank=True, help_text="The return value, as JSON.", null=True)),
                ("traceback", models.TextField(blank=True)),
                ("attempts", models.PositiveIntegerField(default=1)),
                ("queue", models.CharField(max_length=100)),
                ("root_id", models.CharField(help_text="The first task of its workflow.", max_length=36)),
                ("chord_id", models.CharField(blank=True, max_length=36, null=True)),
                ("chord_index", models.PositiveIntegerField(blank=True, null=True)),
                ("date_done", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={"verbose_name": "task result", "db_table": "tasks_result"},
        ),
        migrations.AddIndex(
            model_name="taskresult",
            index=models.Index(fields=["chord_id", "chord_index"], name="tasks_result_chord"),
        ),
        migrations.CreateModel(
            name="ChordCounter",
            fields=[
                ("chord_id", models.CharField(max_length=36, primary_key=True, serialize=False)),
                ("size", models.PositiveIntegerField()),
                ("done", models.PositiveIntegerField(default=0)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
            options={"db_table": "tasks_chord"},
        ),
        migrations.CreateModel(
            name="ScheduleState",
            fields=[
                ("entry", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("last_tick_ms", models.BigIntegerField()),
            ],
            options={"db_table": "tasks_schedule"},
        ),
    ]
