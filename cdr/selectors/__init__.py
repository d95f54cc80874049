"""Read paths, one module per domain. Views, commands and the API call these; none scans without an index.

The names of the call-record export stay importable from ``cdr.selectors`` itself.
"""

from cdr.selectors.calls import (
    RECORD_FIELDS,
    TIME_FIELDS,
    call_records_iter,
    calls_filter,
    calls_with_labels,
    rfc3339,
)

__all__ = ["RECORD_FIELDS", "TIME_FIELDS", "call_records_iter", "calls_filter", "calls_with_labels", "rfc3339"]
