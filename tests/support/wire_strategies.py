"""Hypothesis strategies of wire events: what the schema allows (valid_events) and any JSON value.

Shared by the schema tests and the parser equivalence tests (tests/unit/lifecycle).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

stamps = st.one_of(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)).map(
        lambda t: t.isoformat()
    ),
    # Go's RFC3339Nano: 1 to 9 fractional digits, trailing zeros trimmed.
    st.tuples(st.integers(946684800, 4102444800), st.integers(1, 10**9 - 1)).map(
        lambda p: datetime.fromtimestamp(p[0], UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{p[1]:09d}".rstrip("0") + "Z"
    ),
)
# Any text the schema allows: no NUL, no unpaired surrogates (which the schema's prose forbids).
storable = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")
text = st.text(storable, max_size=30)
label_values = st.text(storable, max_size=256)
calls = st.fixed_dictionaries(
    {
        "call_id": text.filter(bool),
        "direction": st.sampled_from(["inbound", "outbound"]),
        "started_at": stamps,
    },
    optional={
        "correlation_id": text,
        "scenario": text,
        "tenant_id": st.integers(0, 2**64 - 1),
        "remote_addr": text,
        "local_ip": text,
        "codec": text,
        "labels": st.one_of(
            st.none(),
            st.dictionaries(
                st.text(st.sampled_from("abcXYZ019_.:/-"), min_size=1, max_size=64),
                label_values,
                max_size=16,
            ),
        ),
    },
)
hangups = st.fixed_dictionaries(
    {},
    optional={
        "initiator": st.sampled_from(["local", "remote", "unknown", ""]),
        "sip_code": st.one_of(st.just(0), st.integers(100, 699)),
        "reason": text,
        "duration_ms": st.integers(0, 10**12),
        "ended_at": st.one_of(st.none(), stamps),
    },
)


@st.composite
def valid_events(draw):
    kind = draw(st.sampled_from(["ringing", "established", "transfer_started", "bridge_started", "bye", "failed"]))
    ev = {"type": kind, draw(st.sampled_from(["observed_at", "occurred_at"])): draw(stamps)}
    if draw(st.booleans()):
        ev["event_id"] = draw(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=128))
    if kind == "bridge_started":
        ev.update(inbound_call_id=draw(text.filter(bool)), outbound_call_id=draw(text.filter(bool)))
    else:
        ev["call"] = draw(calls)
    if kind in ("bye", "failed"):
        ev["hangup"] = draw(hangups)
    if kind == "transfer_started" and draw(st.booleans()):
        ev["target_uri"] = draw(text)
    return ev


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
