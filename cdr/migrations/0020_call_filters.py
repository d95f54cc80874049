# The API's ended_after/ended_before filters (issue 17). On PostgreSQL the indexes are built
# CONCURRENTLY (docs/operations.md, "Upgrade"): the calls table takes writes while they build.

from django.db import migrations, models

from cdr.db.operations import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("cdr", "0019_call_labels"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="call",
            index=models.Index(fields=["tenant", "ended_at"], name="cdr_call_tenant_ended"),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="call",
            index=models.Index(fields=["ended_at"], name="cdr_call_ended"),
        ),
    ]
