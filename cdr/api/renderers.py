"""CSV and NDJSON renderers of a call-list page: the export's columns, rows of ``results`` only.

The page's ``next`` link travels in the ``Link`` header (the view sets it for every format).
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer

from cdr.api.calls_export import csv_chunks, ndjson_chunks


def _results(data: Any) -> list[dict[str, Any]]:
    return data["results"] if isinstance(data, dict) else data


class CallCSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return b"".join(csv_chunks(_results(data)))


class CallNDJSONRenderer(BaseRenderer):
    media_type = "application/x-ndjson"
    format = "ndjson"
    charset = None  # UTF-8 by definition

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return b"".join(ndjson_chunks(_results(data)))
