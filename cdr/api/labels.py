"""The ``label`` filter of the call list and export: ``label=key=value``, repeatable (AND).

Kept apart from ``cdr.api.filters``' one-value parameters: it is the only repeatable one.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from cdr.lifecycle.fields import Invalid
from cdr.lifecycle.labels import label_filter_parse
from cdr.models import Call
from cdr.selectors.calls import calls_with_labels

LABEL_PARAM = "label"


def labels_filter_params(params: Any) -> dict[str, str]:
    """The labels every call must carry; a 400 naming ``label`` for a bad term."""
    try:
        return label_filter_parse(params.getlist(LABEL_PARAM), LABEL_PARAM)
    except Invalid as exc:
        raise ValidationError({LABEL_PARAM: str(exc).removeprefix(f"{LABEL_PARAM}: ")}) from None


def calls_apply_label_filter(qs: QuerySet[Call], params: Any) -> QuerySet[Call]:
    return calls_with_labels(qs, labels_filter_params(params))


def label_parameter() -> OpenApiParameter:
    return OpenApiParameter(
        LABEL_PARAM,
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        many=True,
        explode=True,
        description=(
            "`key=value`: only calls carrying this label (exact key and value, e.g. `from=+33612345678`;"
            " URL-encode `+` as `%2B`). Repeat to require several (AND). Conventional keys: from, to, did,"
            " campaign."
        ),
    )
