"""HTTP clients as the app's callers use it: a gateway that signs its requests, an API token holder."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client
from rest_framework.test import APIClient

from cdr.ingest.signing import must_sign, signed_headers
from cdr.services.gateways import IssuedGateway

EVENTS = "/ingest/v1/events"


class GatewayClient:
    def __init__(self, issued: IssuedGateway, client: Client | None = None) -> None:
        self.key_id = issued.gateway.key_id
        self.secret = issued.secret
        self.client = client or Client()

    def post(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str,
        timestamp: int | None = None,
        sha256: str | None = None,
        **headers: str,
    ) -> Any:
        """Signed v2 with ``headers`` and the Content-Type; a signature's own header in ``headers``
        (``X-CDR-Timestamp``) replaces the signed one, as sent."""
        own = {k: v for k, v in headers.items() if not must_sign(k)}
        sent = {"Content-Type": content_type, **{k: v for k, v in headers.items() if must_sign(k)}}
        signed = signed_headers(
            self.key_id, self.secret, "POST", path, body, headers=sent, timestamp=timestamp, sha256=sha256
        )
        signed.update(own)
        # CONTENT_TYPE also for an empty body, which the test client would send without one.
        return self.client.generic(
            "POST", path, body, content_type=content_type, headers=signed, CONTENT_TYPE=content_type
        )

    def events(self, events: Any, **kwargs: Any) -> Any:
        body = events if isinstance(events, bytes) else json.dumps(events).encode()
        kwargs.setdefault("content_type", "application/json")
        return self.post(EVENTS, body, **kwargs)


def with_ids(events: list[dict[str, Any]], prefix: str = "e") -> list[dict[str, Any]]:
    return [dict(e, event_id=f"{prefix}{i}") for i, e in enumerate(events)]


def upload(gw, call_id, blob, *, sha=None, content_type="application/octet-stream", **headers):
    """POST a recording for the call as the gateway; with sha, a lying checksum header, signed."""
    sent = {
        "X-CDR-Tenant-Id": "7",
        "X-CDR-Format": "sn3",
        "X-CDR-Codec": "PCMU",
        "X-CDR-Sample-Rate": "8000",
        "X-CDR-Channels": "1",
    }
    sent.update(headers)
    path = f"/ingest/v1/recordings/{call_id}"
    return gw.post(path, blob, content_type=content_type, sha256=sha, **sent)


def bearer_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client
