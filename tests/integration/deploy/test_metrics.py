"""/metrics: Prometheus text behind a bearer token; the backlog read from the database at scrape time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from cdr.models import Gateway, GatewayBatch, ReportPending

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
    with django_assert_max_num_queries(3):
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
