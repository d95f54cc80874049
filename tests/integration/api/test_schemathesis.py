"""Every operation of the published schema, fuzzed through WSGI: no 5xx, every response as declared.

Operations added later (ingestion, reports) are picked up from the schema automatically.
A bounded, derandomized number of cases per operation keeps it fast and repeatable.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cdr.services.api_tokens import api_token_create
from project.wsgi import application
from tests.support.tenants import TENANT_A, add_recording, staff_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_in_test_transaction(db):
    """Requests go straight to the WSGI handler; like Django's test client, keep the test's
    connection (and its transaction) open across them instead of closing it at request end."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(wsgi_in_test_transaction):
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def key(calls, local_recordings):
    """Tenant A's staff token; tenant A has calls of every kind and one recording."""
    a, _ = calls
    add_recording(TENANT_A, a.answered)
    return api_token_create(user=staff_user("fuzz", TENANT_A)).key


@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api(case, key):
    case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
