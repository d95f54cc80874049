"""Output shapes of the API. Times are RFC 3339 UTC (``...Z``), as in the CSV/NDJSON export."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cdr.api import field_docs
from cdr.api.calls_export import EXPORT_FIELDS
from cdr.api.field_docs import Described
from cdr.api.selectors import SUMMARY_COLUMNS, recording_summary
from cdr.models import Call, CallEvent, Hangup, HangupInitiator, Recording, Transfer, WavStatus
from cdr.reports.columns import labels_sorted


# Tenant ids are unsigned 64-bit: "int64" would be a wrong schema for ids from 2**63 up.
@extend_schema_field({"type": "integer", "minimum": 0, "maximum": 2**64 - 1})
class TenantIdField(serializers.IntegerField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": 256},
        "maxProperties": 16,
        "description": "The call's labels (from, to, did, campaign, ...), keys in code-point order; {} if none.",
    }
)
class LabelsField(serializers.Field):
    def to_representation(self, value: Any) -> dict[str, str]:
        return labels_sorted(value)


class RecordingSummarySerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Recordings stored for the call.")
    available = serializers.IntegerField(help_text="Of those, not yet deleted by retention.")
    wav_ready = serializers.IntegerField(help_text="Of those, with a WAV ready to play.")
    duration_ms = serializers.IntegerField(help_text="Total duration of all recordings, in milliseconds.")
    formats = serializers.ListField(child=serializers.CharField(), help_text="Formats of the originals.")


_NO_RECORDINGS = recording_summary(())


class CallRecordSerializer(Described, serializers.ModelSerializer):
    """A call record; ``context["summaries"]`` maps Call-IDs to recording summaries."""

    field_docs = field_docs.CALL

    tenant_id = TenantIdField(read_only=True)
    # Blank until the call ends.
    hangup_initiator = serializers.ChoiceField(choices=HangupInitiator.choices, allow_blank=True, read_only=True)
    recording_summary = serializers.SerializerMethodField()
    labels = LabelsField(read_only=True)

    class Meta:
        model = Call
        fields = (*EXPORT_FIELDS, "recording_summary")
        read_only_fields = fields

    @extend_schema_field(RecordingSummarySerializer)
    def get_recording_summary(self, call: Call) -> dict[str, Any]:
        return self.context.get("summaries", {}).get(call.call_id, _NO_RECORDINGS)


class CallExportRecordSerializer(Described, serializers.ModelSerializer):
    """A record of the export (its JSON array, and each NDJSON line): the list's, without the summary."""

    field_docs = field_docs.CALL

    tenant_id = TenantIdField(read_only=True)
    hangup_initiator = serializers.ChoiceField(choices=HangupInitiator.choices, allow_blank=True, read_only=True)

    class Meta:
        model = Call
        fields = EXPORT_FIELDS
        read_only_fields = fields


class HangupSerializer(Described, serializers.ModelSerializer):
    field_docs = field_docs.HANGUP

    class Meta:
        model = Hangup
        fields = ("kind", "initiator", "sip_code", "reason", "reported_duration_ms", "ended_at")
        read_only_fields = fields


class TransferSerializer(Described, serializers.ModelSerializer):
    field_docs = field_docs.TRANSFER

    target = serializers.CharField(source="target_uri", read_only=True)

    class Meta:
        model = Transfer
        fields = ("attempt", "target", "attempted_at", "outbound_call_id", "outcome", "bridged_at")
        read_only_fields = fields


class CallEventSerializer(Described, serializers.ModelSerializer):
    field_docs = field_docs.EVENT

    class Meta:
        model = CallEvent
        fields = ("type", "status", "reason", "observed_at")
        read_only_fields = fields


class RecordingSerializer(Described, serializers.ModelSerializer):
    field_docs = field_docs.RECORDING

    variants = serializers.SerializerMethodField(help_text="Values of `variant` the media link serves now.")
    media = serializers.SerializerMethodField(help_text="URL of the media endpoint (a redirect to the audio).")

    class Meta:
        model = Recording
        fields = (
            "id",
            "format",
            "codec",
            "sample_rate",
            "channels",
            "duration_ms",
            "bytes",
            "wav_status",
            "created_at",
            "deleted_at",
            "variants",
            "media",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=["wav", "original"])))
    def get_variants(self, recording: Recording) -> list[str]:
        if recording.deleted_at is not None:
            return []
        return ["wav", "original"] if recording.wav_status == WavStatus.READY else ["original"]

    def get_media(self, recording: Recording) -> str:
        # Absolute, as `next` is: a client follows links as they are (``context["request"]``).
        return self.context["request"].build_absolute_uri(reverse("cdr-api:recording-media", args=[recording.pk]))


class CallDetailSerializer(CallRecordSerializer):
    """``context``: ``events`` (the call's event log) and ``recordings`` (its recordings)."""

    hangup = serializers.SerializerMethodField()
    transfers = TransferSerializer(many=True, read_only=True)
    events = serializers.SerializerMethodField()
    recordings = serializers.SerializerMethodField()

    class Meta(CallRecordSerializer.Meta):
        fields = (*CallRecordSerializer.Meta.fields, "hangup", "transfers", "events", "recordings")
        read_only_fields = fields

    @extend_schema_field(HangupSerializer(allow_null=True))
    def get_hangup(self, call: Call) -> dict[str, Any] | None:
        hangup = getattr(call, "hangup", None)  # reverse one-to-one: missing raises, getattr default catches
        return HangupSerializer(hangup).data if hangup is not None else None

    @extend_schema_field(CallEventSerializer(many=True))
    def get_events(self, call: Call) -> list[dict[str, Any]]:
        return CallEventSerializer(self.context["events"], many=True).data

    @extend_schema_field(RecordingSerializer(many=True))
    def get_recordings(self, call: Call) -> list[dict[str, Any]]:
        return RecordingSerializer(self.context["recordings"], many=True, context=self.context).data

    @extend_schema_field(RecordingSummarySerializer)
    def get_recording_summary(self, call: Call) -> dict[str, Any]:
        recordings = self.context["recordings"]
        return recording_summary([tuple(getattr(r, c) for c in SUMMARY_COLUMNS) for r in recordings])
