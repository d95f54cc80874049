"""A registered gateway and a client that signs its requests the way a gateway must."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from cdr.ingest.signing import signed_headers
from cdr.services.gateways import IssuedGateway, gateway_create

EVENTS = "/ingest/v1/events"


class GatewayClient:
    def __init__(self, issued: IssuedGateway, client: Client | None = None) -> None:
        self.key_id = issued.gateway.key_id
        self.secret = issued.secret
        self.client = client or Client()

    def post(self, path: str, body: bytes, *, content_type: str, timestamp: int | None = None, **headers: str) -> Any:
        signed = signed_headers(self.key_id, self.secret, "POST", path, body, timestamp=timestamp)
        signed.update(headers)
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


@pytest.fixture
def issued(db) -> IssuedGateway:
    return gateway_create(name="edge-1", tenant_ids=[7, 9])


@pytest.fixture
def gw(issued) -> GatewayClient:
    return GatewayClient(issued)
