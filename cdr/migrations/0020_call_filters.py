# The API's ended_after/ended_before filters (issue 17). On PostgreSQL the indexes are built
# CONCURRENTLY (docs/operations.md, "Upgrade"): the calls table takes writes while they build.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL; a plain CREATE INDEX elsewhere (SQLite)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


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
