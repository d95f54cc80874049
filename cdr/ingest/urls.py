"""Ingestion URLs. The project includes them once: path("ingest/", include("cdr.ingest.urls"))."""

from django.urls import path, register_converter

from cdr.ingest import views


class CallIdConverter:
    # Any characters, "/" and control characters included: the view answers a bad one with a
    # 400 naming call_id, where Django's "path" converter (".+") would 404 on a newline.
    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(CallIdConverter, "call_id")

app_name = "cdr-ingest"

urlpatterns = [
    path("v1/events", views.EventsIngestView.as_view(), name="events"),
    path("v1/recordings/<call_id:call_id>", views.RecordingIngestView.as_view(), name="recording"),
]
