"""What erasure removes from a lifecycle event: the person's data, masked in place. Pure.

One list for every place that holds it: the stored event payloads, a re-delivered raw event of an
erased call (masked before it is parsed, so it fingerprints like the masked stored copy and is a
duplicate of it), and the call record derived from them. The Call-ID and correlation id stay: they
are the gateway's opaque dialog tokens and the record's key (see docs/records.md, "Erasure").
"""

from __future__ import annotations

import copy
from typing import Any

# Fields of an event's ``call`` object (and of the Call record) that identify the remote party.
# A field added to the wire (numbers, labels) that names the person is added here.
PERSONAL_CALL_FIELDS: tuple[str, ...] = ("remote_addr",)
MASK = ""


def event_mask(raw: Any) -> Any:
    """A copy of a raw or stored event with the person's data masked; anything else unchanged."""
    if not isinstance(raw, dict):
        return raw
    call = raw.get("call")
    if not isinstance(call, dict) or not any(call.get(f) not in (None, MASK) for f in PERSONAL_CALL_FIELDS):
        return raw
    out = copy.deepcopy(raw)
    for name in PERSONAL_CALL_FIELDS:
        if name in out["call"]:
            out["call"][name] = MASK
    return out


def event_masked(raw: Any) -> bool:
    """True if ``event_mask`` would change nothing."""
    return event_mask(raw) is raw
