"""Output shapes of the API. Times are RFC 3339 UTC (``...Z``), as in the CSV/NDJSON export."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cdr.models import Call, CallEvent, Hangup, Transfer
from cdr.selectors import RECORD_FIELDS


# Tenant ids are unsigned 64-bit: "int64" would be a wrong schema for ids from 2**63 up.
@extend_schema_field({"type": "integer", "minimum": 0, "maximum": 2**64 - 1})
class TenantIdField(serializers.IntegerField):
    pass


class CallRecordSerializer(serializers.ModelSerializer):
    tenant_id = TenantIdField(read_only=True)

    class Meta:
        model = Call
        fields = (*RECORD_FIELDS, "transferred")
        read_only_fields = fields


class HangupSerializer(serializers.ModelSerializer):
    class Meta:
        model = Hangup
        fields = ("kind", "initiator", "sip_code", "reason", "reported_duration_ms", "ended_at")
        read_only_fields = fields


class TransferSerializer(serializers.ModelSerializer):
    target = serializers.CharField(source="target_uri", read_only=True)

    class Meta:
        model = Transfer
        fields = ("attempt", "target", "attempted_at", "outbound_call_id", "outcome", "bridged_at")
        read_only_fields = fields


class CallEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = CallEvent
        fields = ("type", "status", "reason", "observed_at")
        read_only_fields = fields


class CallDetailSerializer(CallRecordSerializer):
    hangup = serializers.SerializerMethodField()
    transfers = TransferSerializer(many=True, read_only=True)
    events = serializers.SerializerMethodField()

    class Meta(CallRecordSerializer.Meta):
        fields = (*CallRecordSerializer.Meta.fields, "hangup", "transfers", "events")
        read_only_fields = fields

    @extend_schema_field(HangupSerializer(allow_null=True))
    def get_hangup(self, call: Call) -> dict[str, Any] | None:
        hangup = getattr(call, "hangup", None)  # reverse one-to-one: missing raises, getattr default catches
        return HangupSerializer(hangup).data if hangup is not None else None

    @extend_schema_field(CallEventSerializer(many=True))
    def get_events(self, call: Call) -> list[dict[str, Any]]:
        return CallEventSerializer(self.context["events"], many=True).data
