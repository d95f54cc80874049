"""HTTP ingestion: gateways in other processes deliver lifecycle events and recordings.

Mounted by the project as ``path("ingest/", include("cdr.ingest.urls"))``. Requests are signed
per gateway (``cdr.ingest.signing``); accepted events take the in-process sink's path (the
``cdr.events_ingest`` task) and recordings the ``StorageRecordingSink``'s.
"""
