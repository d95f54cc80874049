"""/metrics: Prometheus text behind a bearer token; the backlog read from the database at scrape time."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from cdr.ingest.signing import signature_v1, signed_headers
from cdr.models import Gateway, GatewayBatch, ReportPending
from cdr.services.gateways import gateway_create

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-0123456789"


@pytest.fixture
def metrics_on(settings):
    settings.CDR_METRICS_TOKEN = TOKEN


def _values(response):
    return {
        s.name: s.value for family in text_string_to_metric_families(response.content.decode()) for s in family.samples
    }


def test_off_without_a_token(client):
    assert client.get("/metrics").status_code == 404


def test_the_token_is_required(client, metrics_on):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


def test_the_backlog_gauges(client, metrics_on, django_assert_max_num_queries):
    now = timezone.now()
    gateway = Gateway.objects.create(name="gw", key_id="k1", secret_encrypted="-")
    for n, (count, error, age) in enumerate([(10, "", 30), (5, "", 5), (7, "boom", 100)]):
        GatewayBatch.objects.create(
            batch_id=f"b{n}",
            gateway=gateway,
            events="[]",
            event_count=count,
            received_at=now - timedelta(seconds=age),
            error=error,
        )
    ReportPending.objects.bulk_create([ReportPending(call_id=f"c{n}", marked_at=now) for n in range(3)])
    with django_assert_max_num_queries(2):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    values = _values(response)
    assert values["cdr_http_batches_queued"] == 2
    assert values["cdr_http_events_queued"] == 15
    assert 30 <= values["cdr_http_queue_oldest_age_seconds"] < 60
    assert values["cdr_http_batches_set_aside"] == 1
    assert values["cdr_http_events_set_aside"] == 7
    assert values["cdr_rollup_legs_pending"] == 3


def test_an_empty_backlog_reads_zero(client, metrics_on):
    values = _values(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    assert values["cdr_http_queue_oldest_age_seconds"] == 0
    assert values["cdr_http_batches_queued"] == 0


def _v1_count(client, gateway: str, refused: str) -> float:
    values = {
        (s.labels.get("gateway"), s.labels.get("refused")): s.value
        for family in text_string_to_metric_families(
            client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        )
        for s in family.samples
        if s.name == "cdr_ingest_signature_v1_requests_total"
    }
    return values.get((gateway, refused), 0.0)


def test_v1_signed_requests_are_counted_by_gateway(client, metrics_on, settings):
    """Each authentic v1 request (deprecated, docs/ingest.md) counts for its gateway; v2 does not."""
    issued = gateway_create(name="gw-v1", tenant_ids=[7])
    before = _v1_count(client, "gw-v1", "false"), _v1_count(client, "gw-v1", "true")
    body = b"[]"
    ts, sha = str(int(time.time())), hashlib.sha256(body).hexdigest()
    v1 = {
        "X-CDR-Key": issued.gateway.key_id,
        "X-CDR-Timestamp": ts,
        "X-CDR-Signature": signature_v1(issued.secret, "POST", "/ingest/v1/events", ts, sha),
    }
    for _ in range(2):
        assert client.post("/ingest/v1/events", body, content_type="application/json", headers=v1).status_code == 400
    v2 = signed_headers(issued.gateway.key_id, issued.secret, "POST", "/ingest/v1/events", body,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert client.post("/ingest/v1/events", body, content_type="application/json", headers=v2).status_code == 400
    settings.CDR_INGEST = {**settings.CDR_INGEST, "SIGNATURE_V1_UNTIL": "off"}
    assert client.post("/ingest/v1/events", body, content_type="application/json", headers=v1).status_code == 401
    after = _v1_count(client, "gw-v1", "false"), _v1_count(client, "gw-v1", "true")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)
