"""A registered gateway and a client that signs its requests the way a gateway must."""

from __future__ import annotations

import pytest

from cdr.services.gateways import IssuedGateway, gateway_create
from tests.support.http import GatewayClient


@pytest.fixture
def issued(db) -> IssuedGateway:
    return gateway_create(name="edge-1", tenant_ids=[7, 9])


@pytest.fixture
def gw(issued) -> GatewayClient:
    return GatewayClient(issued)
