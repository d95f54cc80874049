"""The ``recordings`` storage (django-storages: local files by default, S3 in production)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import Storage, storages


def recordings_storage() -> Storage:
    """The ``recordings`` storage alias (resolved on every call: tests swap STORAGES)."""
    return storages["recordings"]


LINKS_ALIAS = "recordings_links"


def recordings_link_storage() -> Storage:
    """The storage that signs playback and download links: ``recordings_links`` when the project
    defines it (the same bucket seen at the address browsers reach, e.g. ``CDR_S3_PUBLIC_ENDPOINT_URL``
    when the servers reach S3 at a private host name), else ``recordings``. Signing is local: this
    storage is never used to read or write."""
    if LINKS_ALIAS in settings.STORAGES:
        return storages[LINKS_ALIAS]
    return recordings_storage()


def storage_is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name") and hasattr(storage, "connection")


def storage_uri(storage: Storage, key: str) -> str:
    """A durable, non-expiring reference to an object (never a link that grants access)."""
    if storage_is_s3(storage):
        return f"s3://{storage.bucket_name}/{key}"  # type: ignore[attr-defined]
    return f"file://{storage.path(key)}"
