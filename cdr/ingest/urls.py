"""Ingestion URLs. The project includes them once: path("ingest/", include("cdr.ingest.urls"))."""

from django.urls import path

from cdr.ingest import views

app_name = "cdr-ingest"

urlpatterns = [
    path("v1/events", views.EventsIngestView.as_view(), name="events"),
    # Call-IDs may contain "/" (RFC 3261 "word"), hence the path converter.
    path("v1/recordings/<path:call_id>", views.RecordingIngestView.as_view(), name="recording"),
]
