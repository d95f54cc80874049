"""The two callback interfaces of the Go ``hooks`` package, as ``typing.Protocol``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from cdr.hooks.types import (
    CallMeta,
    HangupMeta,
    RecordingArtifact,
    RecordingChannel,
    RecordingResult,
)


@runtime_checkable
class LifecycleSink(Protocol):
    """Mirrors hooks.LifecycleSink: receives call state transitions.

    All methods must be non-blocking or fast; heavy work is queued by the implementation.
    """

    def on_ringing(self, meta: CallMeta) -> None:
        """Mirrors OnRinging: optional early hook (180/183)."""

    def on_established(self, meta: CallMeta) -> None:
        """Mirrors OnEstablished: after ACK (inbound UAS) or outbound 200+ACK."""

    def on_transfer_started(self, inbound: CallMeta, target_uri: str) -> None:
        """Mirrors OnTransferStarted: a B2BUA transfer dial begins (REFER or AI transfer)."""

    def on_bridge_started(self, inbound_call_id: str, outbound_call_id: str) -> None:
        """Mirrors OnBridgeStarted: the two-leg media bridge is active."""

    def on_bye(self, meta: CallMeta, hangup: HangupMeta, recording: RecordingArtifact) -> None:
        """Mirrors OnBye: a dialog ends cleanly (BYE completed or local teardown)."""

    def on_failed(self, meta: CallMeta, hangup: HangupMeta) -> None:
        """Mirrors OnFailed: setup or transfer fails before a stable bridge."""


@runtime_checkable
class RecordingSink(Protocol):
    """Mirrors hooks.RecordingSink: live PCM taps and/or the final SN3 blob at call end."""

    def begin_recording(self, meta: CallMeta, sample_rate: int, codec: str) -> bool:
        """Mirrors BeginRecording: False disables taps for this call."""

    def append_pcm(self, call_id: str, ch: RecordingChannel, pcm: bytes) -> None:
        """Mirrors AppendPCM: mono PCM16 LE frames; copy ``pcm`` if kept beyond the call."""

    def finish_recording(self, artifact: RecordingArtifact, *, timeout: float | None = None) -> RecordingResult:
        """Mirrors FinishRecording; Go's ``ctx`` deadline becomes ``timeout`` (seconds)."""
