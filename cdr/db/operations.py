"""Migration operations of the app's own (imported by its migrations)."""

from __future__ import annotations

from typing import Any

from django.db import migrations


class AddIndexConcurrentlyOnPostgres(migrations.AddIndex):
    """CREATE INDEX CONCURRENTLY on PostgreSQL (big tables keep taking writes while it builds:
    docs/operations.md, "Upgrade"; the migration needs ``atomic = False``); a plain CREATE INDEX
    elsewhere (SQLite). django.contrib.postgres is imported only on PostgreSQL: it needs psycopg,
    which an installation on SQLite may not have."""

    def _concurrently(self) -> Any:
        from django.contrib.postgres.operations import AddIndexConcurrently

        return AddIndexConcurrently(self.model_name, self.index)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            self._concurrently().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            self._concurrently().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class NotOnPostgres(migrations.operations.base.Operation):
    """``operation``'s state change everywhere, its schema change on every database but PostgreSQL
    (where a RunPython of the same migration does that part its own way, e.g. a partitioned table)."""

    reduces_to_sql = False

    def __init__(self, operation: migrations.operations.base.Operation) -> None:
        self.operation = operation
        super().__init__()

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__qualname__, [self.operation], {}

    def describe(self) -> str:
        return f"{self.operation.describe()} (not on PostgreSQL)"

    def state_forwards(self, app_label: str, state: Any) -> None:
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)
