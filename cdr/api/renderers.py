"""CSV and NDJSON renderers of a call-list page: the export's columns, rows of ``results`` only.

The page's ``next`` link travels in the ``Link`` header (the view sets it for every format).
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

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


class PageResponse(Response):
    """A page in any of the list's formats. DRF drops Content-Type from an empty body, and an
    NDJSON page of no records is one: it keeps its type (a client dispatches on it)."""

    @property
    def rendered_content(self) -> Any:
        content = super().rendered_content
        if not content and "Content-Type" not in self:
            self["Content-Type"] = self.accepted_media_type
        return content
