"""A durable local spool of recording files waiting for object storage (stdlib and one counter).

An entry is two files: ``<name>.blob`` (the bytes to upload) and ``<name>.json`` (where they go and
the row to record). The blob is written and fsync'd first and the json renamed into place last,
so an entry that has a json is complete; a crash leaves at most a ``.part`` file, swept later.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdr.metrics import RECORDINGS_SPOOLED

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_PART_MAX_AGE_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    name: str
    meta: dict[str, Any]
    blob_path: Path


class RecordingSpool:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def _file(self, name: str, suffix: str) -> Path:
        # Names come back from task messages: never let one point outside the spool.
        if not _NAME.match(name):
            raise ValueError(f"invalid spool entry name {name!r}")
        return self.path / f"{name}{suffix}"

    def part_path(self, name: str) -> Path:
        """Where a writer builds an entry's blob before ``put(name, meta=...)`` without ``data``."""
        return self._file(name, ".blob.part")

    def put(self, name: str, *, meta: dict[str, Any], data: bytes | None = None) -> SpoolEntry:
        """Store an entry durably. Without ``data`` the blob must already be at ``part_path``."""
        blob, part = self._file(name, ".blob"), self.part_path(name)
        if data is not None:
            with open(part, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        os.replace(part, blob)
        meta_part = self._file(name, ".json.part")
        with open(meta_part, "w", encoding="utf-8") as f:
            json.dump(meta, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(meta_part, self._file(name, ".json"))
        self._sync_dir()
        RECORDINGS_SPOOLED.inc()
        return SpoolEntry(name=name, meta=meta, blob_path=blob)

    def get(self, name: str) -> SpoolEntry | None:
        try:
            with open(self._file(name, ".json"), encoding="utf-8") as f:
                meta = json.load(f)
        except FileNotFoundError:
            return None
        blob = self._file(name, ".blob")
        if not blob.exists():
            return None
        return SpoolEntry(name=name, meta=meta, blob_path=blob)

    def __contains__(self, name: str) -> bool:
        return self._file(name, ".json").exists()

    def names(self) -> list[str]:
        """Complete entries, oldest first."""
        entries = []
        for p in self.path.glob("*.json"):
            try:
                entries.append((p.stat().st_mtime, p.name[: -len(".json")]))
            except FileNotFoundError:  # removed by a concurrent uploader
                continue
        return [name for _, name in sorted(entries)]

    def remove(self, name: str) -> None:
        # The json goes first: without it the entry no longer counts, even if the blob stays.
        for suffix in (".json", ".blob"):
            self._file(name, suffix).unlink(missing_ok=True)

    def sweep_parts(self, max_age_s: float = _PART_MAX_AGE_S) -> int:
        """Delete ``.part`` files left by a crash mid-write; returns how many."""
        cutoff, removed = time.time() - max_age_s, 0
        for p in self.path.glob("*.part"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def _sync_dir(self) -> None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
