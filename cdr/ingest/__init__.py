"""HTTP ingestion: gateways in other processes deliver lifecycle events and recordings.

Mounted by the project as ``path("ingest/", include("cdr.ingest.urls"))``. Requests are signed
per gateway (``cdr.ingest.signing``); accepted events are committed to a queue table that
``cdr.gateway_batches_drain`` stores through the in-process sink's service (``events_ingest``),
and recordings take the ``StorageRecordingSink``'s path.
"""
