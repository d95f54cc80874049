"""Thin views of /ingest/v1/: check the request, call one service, shape the answer."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdr.conf import cdr_setting
from cdr.db.queries import DATABASE_UNREACHABLE
from cdr.ingest.auth import (
    RETRY_AFTER_SECONDS,
    BadRequest,
    GatewaySignatureAuthentication,
    IsActiveGateway,
    Unavailable,
    body_stream,
    body_unreadable,
    content_length,
)
from cdr.ingest.openapi import BatchResultSerializer, LifecycleEventSerializer, RecordingStoredSerializer, errors
from cdr.ingest.recordings import RecordingRefused, gateway_recording_accept, recording_upload_parse
from cdr.lifecycle.wire import MAX_JSON_DEPTH, json_depth_exceeds
from cdr.services.gateway_batches import IngestUnavailable
from cdr.services.gateway_events import gateway_events_accept

log = logging.getLogger("cdr.ingest")


def _unavailable(exc: Exception) -> Response:
    log.warning("ingestion unavailable: %s", exc)
    return Response(
        {"detail": Unavailable.default_detail, "accepted": 0},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _media_type(request: Request) -> str:
    return request.content_type.split(";")[0].strip().lower()


def events_body_parse(body: bytes) -> list[Any]:
    limit = cdr_setting("CDR_INGEST")["MAX_EVENTS"]
    too_deep = f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        events = json.loads(body)
    except RecursionError:
        raise BadRequest("body", too_deep) from None
    except ValueError as exc:
        raise BadRequest("body", f"body: not valid JSON ({str(exc)[:120]})") from None
    if json_depth_exceeds(events):
        raise BadRequest("body", too_deep)
    if not isinstance(events, list):
        raise BadRequest("body", f"body: expected a JSON array of events, got {type(events).__name__}")
    if not 0 < len(events) <= limit:
        raise BadRequest("body", f"body: expected 1..{limit} events, got {len(events)}")
    return events


LENGTH_REQUIRED = (
    "Content-Length: required: this server cannot read a chunked body (Transfer-Encoding: chunked); "
    "send the body with a Content-Length"
)


def _length_required() -> StreamingHttpResponse:
    # Streamed, so without a Content-Length: a server that cannot de-chunk (runserver) then closes
    # the connection, and the unread chunks cannot be taken for the next request on it.
    body = json.dumps({"Content-Length": LENGTH_REQUIRED}).encode()
    return StreamingHttpResponse(iter([body]), status=411, content_type="application/json")


class _IngestView(APIView):
    permission_classes = [IsActiveGateway]
    renderer_classes = [JSONRenderer]
    parser_classes: list[Any] = []  # bodies are read (and signed) raw, never through DRF parsers
    throttle_classes: list[Any] = []

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Before the signature is checked: a body the server cannot read would otherwise be
        # checked as empty, and answered "signature does not match" (or "body: empty").
        if body_unreadable(request):
            return _length_required()
        return super().dispatch(request, *args, **kwargs)


class EventsIngestView(_IngestView):
    """A batch of lifecycle events from a gateway; one outcome per event, in the posted order."""

    def get_authenticators(self) -> list[Any]:
        return [GatewaySignatureAuthentication(body_cap=cdr_setting("CDR_INGEST")["MAX_BODY_BYTES"])]

    @extend_schema(
        operation_id="ingest_events",
        summary="Deliver up to 1,000 lifecycle events (accepted / duplicate / rejected per event)",
        description=(
            "The body is a JSON array of LifecycleEvent (also published as cdr/schemas/lifecycle-event.schema.json). "
            "The answer comes once the accepted events are durable (committed to the database queue "
            "that workers drain, or stored). "
            "Re-posting a batch is harmless: events already delivered are answered 'duplicate'."
        ),
        request={"application/json": LifecycleEventSerializer(many=True)},
        responses={200: BatchResultSerializer, **errors(400, 401, 403, 411, 413, 415, 503)},
    )
    def post(self, request: Request) -> Response:
        if _media_type(request) != "application/json":
            raise exceptions.UnsupportedMediaType(request.content_type or "(none)")
        events = events_body_parse(request._request.cdr_body)
        try:
            result = gateway_events_accept(gateway=request.auth, events=events)
        except (IngestUnavailable, *DATABASE_UNREACHABLE) as exc:  # nothing was kept
            return _unavailable(exc)
        results = []
        for index, (outcome, event_id) in enumerate(zip(result.outcomes, result.event_ids, strict=True)):
            item: dict[str, Any] = {"index": index, "event_id": event_id, "status": outcome.status}
            if outcome.status == "rejected":
                item.update(code=outcome.code, reason=outcome.reason)
            results.append(item)
        if result.count("rejected"):
            log.warning(
                "gateway %s: rejected %d of %d events, e.g. %s",
                request.auth.name,
                result.count("rejected"),
                len(events),
                next(o.reason for o in result.outcomes if o.status == "rejected"),
            )
        return Response(
            {
                "batch_id": result.batch_id,
                "accepted": result.count("accepted"),
                "duplicate": result.count("duplicate"),
                "rejected": result.count("rejected"),
                "results": results,
            }
        )


def _header(
    name: str, description: str, *, required: bool = False, kind: Any = OpenApiTypes.STR, pattern: str | None = None
) -> Any:
    return OpenApiParameter(
        name, kind, OpenApiParameter.HEADER, required=required, description=description, pattern=pattern
    )


class RecordingIngestView(_IngestView):
    """A call's recording (SN3 blob or stereo PCM) as the raw body, streamed to storage."""

    def get_authenticators(self) -> list[Any]:
        return [GatewaySignatureAuthentication(body_cap=None)]

    @extend_schema(
        operation_id="ingest_recording",
        summary="Deliver a call's recording (streamed; SHA-256 verified; size-capped)",
        parameters=[
            OpenApiParameter("call_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The leg's SIP Call-ID"),
            _header(
                "X-CDR-Content-SHA256",
                "Hex SHA-256 of the body (signed, then verified)",
                required=True,
                pattern="^[0-9a-fA-F]{64}$",
            ),
            _header("X-CDR-Tenant-Id", "TenantID of the call (0 = not resolved)", required=True, kind=OpenApiTypes.INT),
            _header("X-CDR-Format", "sn3 (default) or stereo_pcm"),
            _header("X-CDR-Codec", "Codec, e.g. pcmu, g722, opus"),
            _header("X-CDR-Sample-Rate", "Sample rate in Hz", kind=OpenApiTypes.INT),
            _header("X-CDR-Channels", "1 (mono taps) or 2 (stereo PCM)", kind=OpenApiTypes.INT),
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={
            201: RecordingStoredSerializer,
            200: OpenApiResponse(
                RecordingStoredSerializer, description="Already stored, or the tenant's policy is off"
            ),
            **errors(400, 401, 403, 411, 413, 415, 503),
        },
    )
    def post(self, request: Request, call_id: str) -> Response:
        if _media_type(request) != "application/octet-stream":
            raise exceptions.UnsupportedMediaType(request.content_type or "(none)")
        try:
            upload = recording_upload_parse(call_id=call_id, headers=request.headers)
            stored = gateway_recording_accept(
                gateway=request.auth,
                upload=upload,
                stream=body_stream(request._request),
                declared_bytes=content_length(request._request),
            )
        except RecordingRefused as exc:
            if exc.status == 403:
                raise exceptions.PermissionDenied(exc.reason) from None
            return Response({exc.parameter: exc.reason}, status=exc.status)
        except (OSError, *DATABASE_UNREACHABLE) as exc:  # the spool's disk or the database: post again
            return _unavailable(exc)
        body: dict[str, Any] = {
            "recording_id": stored.recording_id,
            "call_id": call_id,
            "object_key": stored.object_key,
            "bytes": stored.bytes,
            "sha256": stored.sha256,
        }
        if not stored.object_key:
            body["detail"] = "the tenant's recording policy is off: not stored"
        return Response(body, status=201 if stored.created else 200)
