"""What a gateway hands the recording sink: the call's metadata and a recording artifact."""

from __future__ import annotations

from datetime import UTC, datetime

from cdr.hooks import CallMeta, RecordingArtifact

T0 = datetime(2026, 3, 29, 10, 0, tzinfo=UTC)


def meta(call_id, tenant_id=7, **kw):
    return CallMeta(call_id=call_id, tenant_id=tenant_id, direction="inbound", codec="pcmu", started_at=T0, **kw)


def artifact(call_id, blob, codec="pcmu"):
    return RecordingArtifact(call_id=call_id, format="sn3", payload=blob, codec=codec, sample_rate=8000, channels=1)
