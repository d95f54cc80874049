"""/metrics: Prometheus text, guarded by ``Authorization: Bearer $CDR_METRICS_TOKEN``.

Three kinds of values (docs/operations.md, "Metrics", lists them all):
- read from the database and the spool at scrape time (backlogs): the same whichever process answers;
- counted by the processes themselves (``cdr.metrics``: ingestion outcomes, tasks, uploads). With
  ``PROMETHEUS_MULTIPROC_DIR`` set, every process (gunicorn workers, Celery prefork children) writes
  its own files there and this view sums them, with those of the directories in ``CDR_METRICS_DIRS``
  (the workers' directories on a shared volume); unset, this process's own registry;
- the in-process lifecycle sink's counts, exported by the process that owns the sink (``cdr.sinks``).

Answered by ``ProbeMiddleware`` (``project/health.py``) before host validation and the HTTPS redirect,
so a scraper may reach it by IP over plain HTTP; the token is what guards it.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from cdr.selectors.gateway_batches import gateway_batches_state
from cdr.selectors.recordings import recordings_spool_waiting, recordings_transcode_state
from cdr.selectors.reports import rollups_pending
from cdr.sinks import lifecycle_sink_current
from cdr.sinks.metrics import SinkCollector

# The same series whichever mode a process runs in: the multiprocess files keep no *_created
# timestamps, so the single process does not export them either.
disable_created_metrics()


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
        transcodes = recordings_transcode_state()
        yield GaugeMetricFamily(
            "cdr_recordings_transcode_pending", "Stored recordings whose WAV is not made yet", value=transcodes.pending
        )
        yield GaugeMetricFamily(
            "cdr_recordings_transcode_failed",
            "Stored recordings whose original cannot be decoded",
            value=transcodes.failed,
        )
        yield GaugeMetricFamily(
            "cdr_recordings_spool_waiting",
            "Recordings in this host's spool, not uploaded to storage yet",
            value=recordings_spool_waiting(),
        )


class FilesCollector(Collector):
    """The values every process wrote under these directories (prometheus_client's files), summed."""

    def __init__(self, directories: Iterable[str | Path]) -> None:
        self.directories = [Path(d) for d in directories]

    def collect(self) -> Iterable[Metric]:
        # A service that starts empties its directory (docker-compose.yml): a file listed here can
        # be gone when it is read. List again; the values of a wiped directory start again at 0.
        for _ in range(5):
            files = sorted(str(f) for d in self.directories for f in d.glob("*.db"))
            try:
                return MultiProcessCollector.merge(files, accumulate=True)
            except FileNotFoundError:
                continue
        return MultiProcessCollector.merge([], accumulate=True)


class _Own(Collector):
    """This process's default registry (single-process mode): the counters and the process metrics."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def registry() -> CollectorRegistry:
    """What one scrape exports."""
    registry = CollectorRegistry(auto_describe=False)
    own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if own:
        registry.register(FilesCollector(dict.fromkeys([own, *settings.CDR_METRICS_DIRS])))
    else:
        registry.register(_Own())
    registry.register(BacklogCollector())
    sink = lifecycle_sink_current()
    if sink is not None:
        registry.register(SinkCollector(sink))
    return registry


def metrics(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "CDR_METRICS_TOKEN", None)
    if not token:
        return HttpResponse("metrics are off: CDR_METRICS_TOKEN is not set\n", status=404, content_type="text/plain")
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer "):
        return HttpResponse(
            "metrics need Authorization: Bearer <CDR_METRICS_TOKEN>\n", status=401, content_type="text/plain"
        )
    if not hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode()):
        return HttpResponse("wrong metrics token\n", status=403, content_type="text/plain")
    response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
