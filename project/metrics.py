"""/metrics: Prometheus text, guarded by ``Authorization: Bearer $CDR_METRICS_TOKEN``.

This first set is read from the database at scrape time (one query each, on small tables), so
it is the same whichever gunicorn process answers and needs no multiprocess store. Counters kept
by the processes themselves (ingestion outcomes, task durations, the in-process sink) are not
here yet (issue 15).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cdr.ingest.deprecated import signature_v1
from cdr.selectors.gateway_batches import gateway_batches_state
from cdr.selectors.reports import rollups_pending


class BacklogCollector(Collector):
    """What the workers have not caught up with yet."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queue = gateway_batches_state()
        age = (timezone.now() - queue.oldest_received_at).total_seconds() if queue.oldest_received_at else 0.0
        yield GaugeMetricFamily(
            "cdr_http_batches_queued", "HTTP-ingested batches waiting for a worker", value=queue.queued_batches
        )
        yield GaugeMetricFamily(
            "cdr_http_events_queued", "Events in HTTP-ingested batches waiting for a worker", value=queue.queued_events
        )
        yield GaugeMetricFamily(
            "cdr_http_queue_oldest_age_seconds", "Age of the oldest waiting HTTP batch (0: none)", value=age
        )
        yield GaugeMetricFamily(
            "cdr_http_batches_set_aside",
            "HTTP batches a worker set aside after an error (cdr_gateway retry)",
            value=queue.set_aside_batches,
        )
        yield GaugeMetricFamily(
            "cdr_http_events_set_aside", "Events in set-aside HTTP batches", value=queue.set_aside_events
        )
        yield GaugeMetricFamily(
            "cdr_rollup_legs_pending", "Call legs written but not yet counted in the reports", value=rollups_pending()
        )


# Kept by this process (until issue 15's process counters): the v1 requests it answered.
SIGNATURE_V1 = Counter(
    "cdr_ingest_signature_v1_requests",
    "Authentic ingestion requests signed v1 (deprecated), by gateway; refused: after CDR_INGEST_SIGNATURE_V1_UNTIL",
    ["gateway", "refused"],
    registry=None,
)


def _count_signature_v1(sender: object, *, gateway: str, refused: bool, **kwargs: object) -> None:
    SIGNATURE_V1.labels(gateway=gateway, refused=str(refused).lower()).inc()


signature_v1.connect(_count_signature_v1, dispatch_uid="project.metrics.signature_v1")


def metrics(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "CDR_METRICS_TOKEN", None)
    if not token:
        raise Http404  # off unless a token is configured
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer "):
        return HttpResponse(
            "metrics need Authorization: Bearer <CDR_METRICS_TOKEN>\n", status=401, content_type="text/plain"
        )
    if not hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode()):
        return HttpResponse("wrong metrics token\n", status=403, content_type="text/plain")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BacklogCollector())
    registry.register(SIGNATURE_V1)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
