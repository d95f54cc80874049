"""The in-process lifecycle sink's counts as Prometheus metrics, read from ``stats()`` at scrape.

Only the process that owns the sink (a gateway embedding the app, ``make run``) has them, so
only its ``/metrics`` exports them (``project/metrics.py``); a web or worker process has no sink.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from cdr.sinks.lifecycle import CeleryLifecycleSink


class SinkCollector(Collector):
    """mirrors the counters of CeleryLifecycleSink.stats()."""

    def __init__(self, sink: CeleryLifecycleSink) -> None:
        self._sink = sink

    def collect(self) -> Iterator[Metric]:
        stats = self._sink.stats()
        for name, key, help_text in (
            ("cdr_sink_events_observed", "observed", "Hook calls the sink turned into events and spooled"),
            ("cdr_sink_events_published", "published", "Events published to the broker (or run in-process)"),
            ("cdr_sink_events_confirmed", "confirmed", "Events the store committed and the outbox forgot"),
            ("cdr_sink_events_republished", "republished", "Events published again: never confirmed in time"),
            ("cdr_sink_hook_errors", "hook_errors", "Hook calls that raised inside the sink (lost)"),
        ):
            yield CounterMetricFamily(name, help_text, value=stats.get(key, 0))
        dropped = CounterMetricFamily(
            "cdr_sink_events_dropped", "Events the sink dropped: memory buffer or outbox full", labels=["reason"]
        )
        dropped.add_metric(["buffer_full"], stats.get("dropped_buffer_full", 0))
        dropped.add_metric(["spool_full"], stats.get("dropped_spool_full", 0))
        yield dropped
        yield GaugeMetricFamily(
            "cdr_sink_events_buffered", "Events in the sink's memory, not yet in its outbox", value=stats["buffered"]
        )
        yield GaugeMetricFamily(
            "cdr_sink_events_spooled",
            "Events in the sink's durable outbox, not yet confirmed committed",
            value=stats["spool_pending"],
        )
