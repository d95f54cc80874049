"""Recording links: a staff user asks for a link; the signed file view serves local files.
The waveform view serves a recording's waveform image (SVG) to the same users.

Objects on S3 are served by S3 itself through presigned URLs; this view only serves the local
FileSystemStorage, with the same rules: private, expiring within minutes, HTTP Range for seeking.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.views.decorators.http import require_safe

from cdr.models import AccessPurpose, Recording
from cdr.selectors.recordings import recording_get_visible, recording_link_verify
from cdr.services.recordings import RecordingUnavailable, recording_link, recording_waveform
from cdr.storage.backend import recordings_storage
from cdr.storage.filenames import content_disposition

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


def _visible_recording(request: HttpRequest, pk: int) -> Recording:
    # 404, not 403, for another tenant's recording: ids cannot be enumerated (as the API).
    recording = recording_get_visible(user=request.user, recording_id=pk)
    if recording is None:
        raise Http404("No such recording.")
    return recording


@staff_member_required
@require_safe
def recording_link_view(request: HttpRequest, pk: int) -> HttpResponse:
    """``?purpose=playback|download|api&variant=wav|original``: redirect (or JSON for ``api``)."""
    recording = _visible_recording(request, pk)
    purpose = request.GET.get("purpose", AccessPurpose.PLAYBACK)
    if purpose not in AccessPurpose.values:
        return HttpResponse("purpose must be playback, download or api\n", status=400, content_type="text/plain")
    try:
        url = recording_link(
            user=request.user, recording=recording, purpose=purpose, variant=request.GET.get("variant", "wav")
        )
    except RecordingUnavailable as exc:
        return HttpResponse(f"{exc}\n", status=410, content_type="text/plain")
    except ValueError as exc:
        return HttpResponse(f"{exc}\n", status=400, content_type="text/plain")
    if purpose == AccessPurpose.API:
        return JsonResponse({"url": url})
    return HttpResponseRedirect(url)


@staff_member_required
@require_safe
def recording_waveform_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The recording's waveform as SVG (404 for a user who may not see it, 410 without a WAV)."""
    recording = _visible_recording(request, pk)
    try:
        svg = recording_waveform(user=request.user, recording=recording)
    except RecordingUnavailable as exc:
        return HttpResponse(f"{exc}\n", status=410, content_type="text/plain")
    response = HttpResponse(svg, content_type="image/svg+xml")
    # Access is checked on every request, as for the links; the SVG is cached in storage instead.
    response["Cache-Control"] = "private, no-store"
    # Opened on its own (not through <img>), it still runs nothing and loads nothing.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single satisfiable range; None to serve the whole file.

    Raises ValueError for an unsatisfiable range (416).
    """
    m = _RANGE.match(header.strip())
    if m is None:  # other units, several ranges or garbage: ignore it (RFC 9110 14.2)
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        raise ValueError("empty range")
    if first == "":  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise ValueError("empty suffix range")
        return max(0, size - n), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if start >= size or (last != "" and int(last) < start):
        raise ValueError("range not satisfiable")
    return start, end


def _stream(f: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        f.seek(start)
        while length > 0:
            chunk = f.read(min(_CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        f.close()


@require_safe
def recording_file_view(request: HttpRequest, token: str) -> HttpResponse:
    """Serve a local recording file for a signed, unexpired link (403 tampered, 410 expired)."""
    try:
        claims = recording_link_verify(token)
    except signing.SignatureExpired:
        return HttpResponse("link expired\n", status=410, content_type="text/plain")
    except signing.BadSignature:
        raise PermissionDenied("bad link") from None
    recording = Recording.objects.filter(pk=claims.recording_id).only("deleted_at").first()
    if recording is None or recording.deleted_at is not None:
        return HttpResponse("recording deleted\n", status=410, content_type="text/plain")
    storage = recordings_storage()
    try:
        f = storage.open(claims.key, "rb")
    except FileNotFoundError:
        raise Http404("recording file missing") from None
    size = storage.size(claims.key)
    content_type = "audio/wav" if claims.key.endswith(".wav") else "application/octet-stream"
    try:
        rng = _parse_range(request.headers.get("Range", ""), size) if "Range" in request.headers else None
    except ValueError:
        f.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = rng if rng is not None else (0, size - 1)
    length = max(0, end - start + 1)
    if request.method == "HEAD":
        f.close()
        response: HttpResponse | StreamingHttpResponse = HttpResponse(content_type=content_type)
    else:
        response = StreamingHttpResponse(_stream(f, start, length), content_type=content_type)
    response.status_code = 206 if rng is not None else 200
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if rng is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = content_disposition(claims.name, attachment=claims.attachment)
    return response
