"""Call labels: free ``key -> value`` text a gateway attaches to a call (caller, callee, DID, campaign).

Pure. One rule set for every reader and writer: the wire (``call.labels`` of an event), the
Python sink's and the simulator's ``set_labels``, the fold, the API's ``label=key=value`` filter.

* On the wire: an optional object in ``call``; at most ``MAX_LABELS`` keys, each key 1..64
  characters of ``[A-Za-z0-9_.:/-]`` (no ``=``: ``label=key=value`` splits on the first one), each
  value a string of at most 256 characters (code points) without NUL or unpaired surrogates.
* Over the events of a call (``labels_merge``): keys accumulate (a key is never removed); for a key
  given different values the latest observed event wins, and at the same instant the greater value
  (code-point order). Beyond ``MAX_LABELS`` keys on a call, the first ``MAX_LABELS`` in code-point
  order are kept. A function of the set of events: order and repeats do not change it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from cdr.lifecycle.fields import UNSTORABLE_REASON, Invalid, has_unstorable

MAX_LABELS = 16
MAX_KEY = 64
MAX_VALUE = 256
# Conventional keys (documented in docs/ingest.md); any other valid key is accepted too.
CONVENTIONAL = ("from", "to", "did", "campaign")
_KEY = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")
KEY_RULE = "1..64 characters of A-Z a-z 0-9 _ . : / -"


def labels_parse(value: Any, name: str = "call.labels") -> dict[str, str]:
    """A wire ``labels`` value as a dict (absent/null: empty); ``Invalid`` names what is wrong."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"{name}: expected an object of strings, got {type(value).__name__}")
    if len(value) > MAX_LABELS:
        raise Invalid(f"{name}: {len(value)} keys, at most {MAX_LABELS}")
    out: dict[str, str] = {}
    for key, text in value.items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            shown = key[:40] if isinstance(key, str) else key
            raise Invalid(f"{name}: key {shown!r}: expected {KEY_RULE}")
        if not isinstance(text, str):
            raise Invalid(f"{name}.{key}: expected a string, got {type(text).__name__}")
        if len(text) > MAX_VALUE:
            raise Invalid(f"{name}.{key}: longer than {MAX_VALUE} characters")
        if has_unstorable(text):
            raise Invalid(f"{name}.{key}: {UNSTORABLE_REASON}")
        out[key] = text
    return out


def labels_merge(observed: Iterable[tuple[datetime, Mapping[str, str]]]) -> dict[str, str]:
    """The labels of a call from (observed_at, labels) of its events: see the module's rule."""
    best: dict[str, tuple[datetime, str]] = {}
    for at, labels in observed:
        for key, value in labels.items():
            held = best.get(key)
            if held is None or (at, value) > held:
                best[key] = (at, value)
    return {key: best[key][1] for key in sorted(best)[:MAX_LABELS]}


class LabelBook:
    """The labels a sink attaches to the events of each call (``set_labels``), for the newest
    ``max_calls`` calls labelled: the oldest are forgotten first, so memory stays bounded.

    ``set_labels`` merges into what the call has (the fold's rule: keys accumulate, a key's value
    is replaced); ``get`` is one dict lookup, cheap enough for a hook's thread.
    """

    def __init__(self, max_calls: int = 65_536) -> None:
        if max_calls < 1:
            raise ValueError("max_calls: at least 1")
        self._max = max_calls
        self._calls: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def set(self, call_id: str, labels: Mapping[str, str]) -> dict[str, str]:
        """Merge ``labels`` into the call's; raises ``ValueError`` (``Invalid``) with the reason."""
        if not isinstance(call_id, str) or not call_id:
            raise Invalid("call_id: expected a non-empty string")
        given = labels_parse(dict(labels) if isinstance(labels, Mapping) else labels, "labels")
        with self._lock:
            merged = {**self._calls.get(call_id, {}), **given}
            if len(merged) > MAX_LABELS:
                raise Invalid(f"labels: the call would have {len(merged)} keys, at most {MAX_LABELS}")
            # A new dict each time: the events already holding the previous one keep it unchanged.
            # Re-inserted: the most recently labelled call is the last to be forgotten.
            self._calls.pop(call_id, None)
            self._calls[call_id] = merged
            while len(self._calls) > self._max:
                del self._calls[next(iter(self._calls))]
        return merged

    def get(self, call_id: Any) -> dict[str, str] | None:
        return self._calls.get(call_id) if self._calls else None

    def __len__(self) -> int:
        return len(self._calls)


def label_filter_parse(values: Iterable[str], name: str = "label") -> dict[str, str]:
    """``KEY=VALUE`` filter terms (the API's ``label``, ``cdr_export --label``, the admin's label
    filter) as the labels a call must all carry; ``Invalid`` names what is wrong."""
    wanted: dict[str, str] = {}
    for term in values:
        key, sep, value = term.partition("=")
        if not sep:
            raise Invalid(f"{name}: expected KEY=VALUE, got {term[:100]!r}")
        if not _KEY.fullmatch(key):
            raise Invalid(f"{name}: key {key[:40]!r}: expected {KEY_RULE}")
        if len(value) > MAX_VALUE:
            raise Invalid(f"{name}: the value of {key} is longer than {MAX_VALUE} characters")
        if has_unstorable(value):
            raise Invalid(f"{name}: the value of {key} {UNSTORABLE_REASON}")
        if wanted.get(key, value) != value:
            raise Invalid(f"{name}: {key} given twice with different values (a call has one value a key)")
        wanted[key] = value
    if len(wanted) > MAX_LABELS:
        raise Invalid(f"{name}: {len(wanted)} keys, at most {MAX_LABELS} (a call has no more)")
    return wanted
