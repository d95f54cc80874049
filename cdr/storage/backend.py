"""The ``recordings`` storage (django-storages: local files by default, S3 in production)."""

from __future__ import annotations

from django.core.files.storage import Storage, storages


def recordings_storage() -> Storage:
    """The ``recordings`` storage alias (resolved on every call: tests swap STORAGES)."""
    return storages["recordings"]


def storage_is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def storage_uri(storage: Storage, key: str) -> str:
    """A durable, non-expiring reference to an object (never a link that grants access)."""
    if storage_is_s3(storage):
        return f"s3://{storage.bucket_name}/{key}"  # type: ignore[attr-defined]
    return f"file://{storage.path(key)}"
