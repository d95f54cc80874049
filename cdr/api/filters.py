"""Query parameters of the API: the call filters of ``cdr.selectors.call_filters`` as OpenAPI
parameters, and the rule that every view takes only the parameters it declares.

An unknown parameter is a 400 naming it (``stauts=failed`` must not answer unfiltered data), as a
repeated one is; a bad value is a 400 naming its parameter with the reason.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from cdr.selectors.call_filters import CALL_FILTERS, REPEATABLE, TIME_NOTE

# Times are strings, not "date-time": a plain date is one too.
_TYPES = {
    "string": OpenApiTypes.STR,
    "integer": OpenApiTypes.INT,
    "boolean": OpenApiTypes.BOOL,
    "time": OpenApiTypes.STR,
}
# DRF's own: ?format= picks a renderer on every view (URL_FORMAT_OVERRIDE).
FRAMEWORK_PARAMS = ("format",)


def filter_parameters() -> list[OpenApiParameter]:
    return [
        OpenApiParameter(
            f.name,
            _TYPES[f.kind],
            OpenApiParameter.QUERY,
            description=f"{f.description} {TIME_NOTE}" if f.kind == "time" else f.description,
            enum=list(f.choices) or None,
            many=f.many or None,
            explode=f.many or None,
        )
        for f in CALL_FILTERS
    ]


def params_check(params: Any, known: Iterable[str]) -> None:
    """400 for a query parameter not in ``known`` (with the closest known name) or given twice."""
    allowed = {*known, *FRAMEWORK_PARAMS}
    errors: dict[str, str] = {}
    for name in params:
        if name not in allowed:
            close = difflib.get_close_matches(name, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(sorted(allowed))}"
            errors[name[:100]] = "unknown parameter" + hint
        elif len(params.getlist(name)) > 1 and name not in REPEATABLE:
            errors[name] = "give this parameter once"
    if errors:
        raise ValidationError(errors)


class KnownParams:
    """Views taking only the query parameters of their schema (``query_parameters``)."""

    query_parameters: list[OpenApiParameter] = []

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        # After authentication: an anonymous caller learns nothing about parameters.
        params_check(request.query_params, (p.name for p in self.query_parameters if p.location == "query"))
