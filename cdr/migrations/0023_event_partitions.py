# The event log gets content_at (cdr.lifecycle.events.content_time) in its unique key; on
# PostgreSQL the table becomes PARTITION BY RANGE (content_at), one partition per month
# (docs/operations.md, "Partitioning": the conversion is offline, its pause is measured there).

import datetime

from django.db import migrations, models
from django.utils import timezone

from cdr.db.operations import NotOnPostgres


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        from cdr.conf import cdr_setting
        from cdr.db import partitions

        with connection.cursor() as cursor:
            if not partitions.is_partitioned(cursor):
                partitions.table_partition(
                    cursor, now=timezone.now(), ahead=cdr_setting("CDR_EVENT_PARTITIONS")["MONTHS_AHEAD"]
                )
        return
    from cdr.lifecycle.events import content_time

    CallEvent = apps.get_model("cdr", "CallEvent")
    batch = []
    for pk, payload in CallEvent.objects.values_list("pk", "payload").iterator(chunk_size=2000):
        at = content_time(payload)
        if at.year != 1970:
            batch.append(CallEvent(pk=pk, content_at=at))
        if len(batch) >= 2000:
            CallEvent.objects.bulk_update(batch, ["content_at"])
            batch = []
    CallEvent.objects.bulk_update(batch, ["content_at"])


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        raise migrations.exceptions.IrreversibleError(
            "cdr_callevent stays partitioned: docs/operations.md, \"Partitioning\""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cdr", "0022_recording_unready"),
    ]

    operations = [
        NotOnPostgres(
            migrations.AddField(
                model_name="callevent",
                name="content_at",
                field=models.DateTimeField(default=datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC)),
            )
        ),
        NotOnPostgres(migrations.RemoveConstraint(model_name="callevent", name="cdr_event_fingerprint_scope")),
        NotOnPostgres(
            migrations.AddConstraint(
                model_name="callevent",
                constraint=models.UniqueConstraint(
                    fields=("fingerprint", "scope", "content_at"), name="cdr_event_fingerprint_scope_at"
                ),
            )
        ),
        migrations.RunPython(forwards, backwards),
    ]
