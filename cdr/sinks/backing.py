"""What the recording sink stands on, the real thing: the database (call context, tenant policy,
stored rows), the ``recordings`` storage and the broker. Handed to ``StorageRecordingSink`` so the
sink itself holds no query and imports no service or task.

Every method runs on the sink's own threads (gateway, pool, retry): each leaves no database
connection open behind it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import close_old_connections, connections

from cdr import dispatch
from cdr.selectors.recordings import recording_call_context, recording_find, recording_policy_get
from cdr.services.recordings import recording_spooled_put, recording_spooled_record
from cdr.sinks.protocols import RecordingStoredNotRecorded
from cdr.storage.backend import recordings_storage, storage_uri


class DjangoRecordingBacking:
    """Implements ``cdr.sinks.protocols.RecordingBacking`` on the ORM, django-storages and Celery."""

    @property
    def queues_uploads(self) -> bool:
        """A broker is configured: failed uploads are also handed to ``cdr.recording_upload``."""
        return not dispatch.is_eager()

    def call_context(self, *, call_id: str, tenant_id: int, correlation_id: str) -> tuple[int, datetime | None]:
        try:
            return recording_call_context(call_id=call_id, tenant_id=tenant_id, correlation_id=correlation_id)
        finally:
            close_old_connections()

    def policy_enabled(self, tenant_id: int) -> bool:
        return recording_policy_get(tenant_id).enabled

    def find(self, *, call_id: str, sha256: str) -> Any:
        try:
            return recording_find(call_id=call_id, sha256=sha256)
        finally:
            close_old_connections()

    def upload_spooled(self, *, name: str, spool_dir: Any) -> None:
        close_old_connections()
        meta = recording_spooled_put(name=name, spool_dir=spool_dir)
        if meta is None:
            return
        try:
            recording_spooled_record(name=name, spool_dir=spool_dir, meta=meta)
        except Exception as exc:
            raise RecordingStoredNotRecorded(meta, exc) from exc

    def release_connections(self) -> None:
        # Uploads run on pool and retry threads: never leave a connection open behind them.
        connections.close_all()

    def uri(self, key: str) -> str:
        return storage_uri(recordings_storage(), key)

    def enqueue_upload(self, *, name: str, meta: dict[str, Any] | None, countdown: float) -> None:
        dispatch.enqueue_later(dispatch.RECORDING_UPLOAD, name, meta, countdown=countdown)
