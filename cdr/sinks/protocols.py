"""The seams of the sinks, as Protocols: what the lifecycle sink publishes through, and what the
recording sink stores through. Pure: the sinks import these, the real implementations
(``publish``, ``backing``) are handed in by the factories in ``cdr.sinks``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class Publisher(Protocol):
    def publish(self, events: list[dict[str, Any]], batch_id: str, *, source: str = "sink") -> None:
        """Hand the batch to the broker (durably, as far as the broker goes), or raise."""

    def confirmed(self, batch_ids: list[str]) -> set[str]:
        """Which of these batches the store has committed."""

    def close(self) -> None: ...


class RecordingStoredNotRecorded(Exception):
    """An upload put the bytes in storage but could not record their row (the database failed):
    ``meta``, the spool entry's, is all a worker on any host needs to finish it."""

    def __init__(self, meta: dict[str, Any], cause: BaseException) -> None:
        super().__init__(f"stored, not recorded: {type(cause).__name__}: {cause}")
        self.meta = meta


class RecordingBacking(Protocol):
    @property
    def queues_uploads(self) -> bool:
        """Whether failed uploads are also handed to a task queue."""

    def call_context(self, *, call_id: str, tenant_id: int, correlation_id: str) -> tuple[int, datetime | None]:
        """The tenant and start time to key a recording by (the call row's when it exists)."""

    def policy_enabled(self, tenant_id: int) -> bool:
        """Whether the tenant records at all (raises when the policy cannot be read)."""

    def find(self, *, call_id: str, sha256: str) -> Any:
        """The stored recording with this content, or None."""

    def upload_spooled(self, *, name: str, spool_dir: Any) -> None:
        """Upload one spool entry to storage and record it (idempotent); raises
        ``RecordingStoredNotRecorded`` when only the recording of its row failed."""

    def release_connections(self) -> None:
        """Close what the calling thread holds open (database connections)."""

    def uri(self, key: str) -> str:
        """A durable, non-expiring reference to the object at ``key``."""

    def enqueue_upload(self, *, name: str, meta: dict[str, Any] | None, countdown: float) -> None:
        """Queue a later upload of the spool entry (raises when the broker is down); ``meta``, the
        entry's, lets a worker on another host record the object once it is in storage."""
