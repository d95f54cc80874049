"""What erasure removes from a lifecycle event: the person's data, masked in place. Pure.

One list for every place that holds it: the stored event payloads, a re-delivered raw event of an
erased call (masked before it is parsed, so it fingerprints like the masked stored copy and is a
duplicate of it), and the call record derived from them. The Call-ID and correlation id stay: they
are the gateway's opaque dialog tokens and the record's key (see docs/records.md, "Erasure").

Labels (``call.labels``, ``Call.labels``): the value of every key is masked, whatever the key
(``from``/``to`` are numbers, and a gateway's own keys may hold anything): keys stay, so the
labels stay valid and the record still says which labels the call had. A value the wire refuses
(not a string, too long, unstorable) becomes ``null``, so a refused event is still refused.
"""

from __future__ import annotations

import copy
from typing import Any

from cdr.lifecycle.fields import has_unstorable
from cdr.lifecycle.labels import MAX_VALUE

# Fields of an event's ``call`` object (and of the Call record) that identify the remote party.
# A field added to the wire (numbers, labels) that names the person is added here.
PERSONAL_CALL_FIELDS: tuple[str, ...] = ("remote_addr",)
MASK = ""
# Every label value, in events and in Call.labels (a valid label value: the labels stay valid).
LABEL_MASK = "erased"


def _value_mask(value: Any) -> Any:
    if isinstance(value, str) and len(value) <= MAX_VALUE and not has_unstorable(value):
        return LABEL_MASK
    return None  # refused on the wire as it was: still refused, without the data


def labels_mask(labels: Any) -> Any:
    """``labels`` (wire or stored) with every value masked; the same object if nothing changes."""
    if labels is None:
        return labels
    if not isinstance(labels, dict):
        # Not an object: refused on the wire; a string is still refused, without the data.
        return labels if labels == LABEL_MASK else LABEL_MASK
    masked = {k: _value_mask(v) for k, v in labels.items()}
    return labels if masked == labels else masked


def _personal(call: dict[str, Any]) -> bool:
    return any(call.get(f) not in (None, MASK) for f in PERSONAL_CALL_FIELDS) or (
        "labels" in call and labels_mask(call["labels"]) is not call["labels"]
    )


def event_mask(raw: Any) -> Any:
    """A copy of a raw or stored event with the person's data masked; anything else unchanged."""
    if not isinstance(raw, dict):
        return raw
    call = raw.get("call")
    if not isinstance(call, dict) or not _personal(call):
        return raw
    out = copy.deepcopy(raw)
    for name in PERSONAL_CALL_FIELDS:
        if name in out["call"]:
            out["call"][name] = MASK
    if "labels" in out["call"]:
        out["call"]["labels"] = labels_mask(out["call"]["labels"])
    return out


def event_masked(raw: Any) -> bool:
    """True if ``event_mask`` would change nothing."""
    return event_mask(raw) is raw


def remote_named(remote: Any, addr: str) -> bool:
    """Whether a stored or wire ``remote_addr`` ("host:port", "[v6]:port") is ``addr`` at any port."""
    return isinstance(remote, str) and (remote == addr or remote.startswith((f"{addr}:", f"[{addr}]:")))


def call_named(call: Any, *, kind: str, value: str) -> bool:
    """Whether a raw event's ``call`` object is named by an erasure selector (``kind``, ``value``):
    its Call-ID (or, for an agent leg, its correlation id), its remote address at any port, or an
    exact label ``key=value``: what ``cdr.selectors.erasure`` matches in the stored records."""
    if not isinstance(call, dict):
        return False
    if kind == "call_id":
        return value in (call.get("call_id"), call.get("correlation_id"))
    if kind == "remote_addr":
        return remote_named(call.get("remote_addr"), value)
    if kind == "label":
        key, _, text = value.partition("=")
        labels = call.get("labels")
        return isinstance(labels, dict) and labels.get(key) == text
    return False
