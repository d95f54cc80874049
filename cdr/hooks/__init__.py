"""Python mirror of the gateway's Go package ``hooks`` (v1.4.2).

Every exported Go name has a twin here: types keep their Go name, constants become enum members
(``DirectionInbound`` -> ``Direction.INBOUND``), struct fields and methods become snake_case
(``CallMeta.CallID`` -> ``CallMeta.call_id``, ``OnBye`` -> ``on_bye``) and ``DefaultRegistry``
becomes ``DEFAULT_REGISTRY``. ``tests/unit/hooks/test_mirror.py`` reads the Go doc and fails when a
name has no twin. This package imports nothing from Django.
"""

from cdr.hooks.registry import DEFAULT_REGISTRY, NopLifecycle, NopRecording, Registry
from cdr.hooks.sinks import LifecycleSink, RecordingSink
from cdr.hooks.types import (
    CallMeta,
    Direction,
    HangupInitiator,
    HangupMeta,
    RecordingArtifact,
    RecordingChannel,
    RecordingFormat,
    RecordingResult,
)

__all__ = [
    "DEFAULT_REGISTRY",
    "CallMeta",
    "Direction",
    "HangupInitiator",
    "HangupMeta",
    "LifecycleSink",
    "NopLifecycle",
    "NopRecording",
    "RecordingArtifact",
    "RecordingChannel",
    "RecordingFormat",
    "RecordingResult",
    "RecordingSink",
    "Registry",
]
