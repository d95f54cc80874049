"""Read-only memory maps of recording files: decode a file without reading it into memory."""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def mapped_file(path: str | os.PathLike[str]) -> Iterator[memoryview]:
    """A read-only view of a whole file; the kernel pages it in as the decoder touches it.

    The pages are the page cache's (clean, shared, reclaimable), not process memory, so several
    decodes of hour-long recordings do not need their size in RAM. An empty file gives an empty
    view (mmap refuses a zero length), so decoding it fails like an empty blob does.
    """
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield memoryview(b"")
            return
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mapped)
    try:
        yield view
    finally:
        try:
            view.release()
            mapped.close()
        except BufferError:
            # Arrays over the map are still alive (held by an exception's traceback): it is
            # unmapped when they are freed.
            pass
