"""Nop sinks and the registry of the Go ``hooks`` package."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdr.hooks.sinks import LifecycleSink, RecordingSink
from cdr.hooks.types import (
    CallMeta,
    HangupMeta,
    RecordingArtifact,
    RecordingChannel,
    RecordingResult,
)


class NopLifecycle:
    """Mirrors hooks.NopLifecycle: a sink that ignores all events."""

    def on_ringing(self, meta: CallMeta) -> None:
        pass

    def on_established(self, meta: CallMeta) -> None:
        pass

    def on_transfer_started(self, inbound: CallMeta, target_uri: str) -> None:
        pass

    def on_bridge_started(self, inbound_call_id: str, outbound_call_id: str) -> None:
        pass

    def on_bye(self, meta: CallMeta, hangup: HangupMeta, recording: RecordingArtifact) -> None:
        pass

    def on_failed(self, meta: CallMeta, hangup: HangupMeta) -> None:
        pass


class NopRecording:
    """Mirrors hooks.NopRecording: ignores all recording hooks."""

    def begin_recording(self, meta: CallMeta, sample_rate: int, codec: str) -> bool:
        return False

    def append_pcm(self, call_id: str, ch: RecordingChannel, pcm: bytes) -> None:
        pass

    def finish_recording(self, artifact: RecordingArtifact, *, timeout: float | None = None) -> RecordingResult:
        return RecordingResult()


@dataclass(slots=True)
class Registry:
    """Mirrors hooks.Registry: optional sinks wired once at process startup."""

    lifecycle: LifecycleSink = field(default_factory=NopLifecycle)
    recording: RecordingSink = field(default_factory=NopRecording)


# Mirrors hooks.DefaultRegistry: nop sinks until the application replaces them.
DEFAULT_REGISTRY = Registry()
