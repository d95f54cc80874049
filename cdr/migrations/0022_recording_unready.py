# /metrics counts live recordings without a WAV at every scrape: a partial index holds just those
# (built CONCURRENTLY on PostgreSQL, docs/operations.md "Upgrade").

from django.db import migrations, models

from cdr.db.operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cdr", "0021_report_mix"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="recording",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), models.Q(("wav_status", "ready"), _negated=True)),
                fields=["wav_status", "created_at"],
                name="cdr_recording_unready",
            ),
        ),
    ]
