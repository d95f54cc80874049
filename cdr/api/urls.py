"""API URLs. The project includes them once: path("api/", include("cdr.api.urls"))."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from cdr.api import docs, views
from cdr.api.reports import ReportSummaryView

app_name = "cdr-api"

urlpatterns = [
    path("v1/calls/", views.CallListView.as_view(), name="call-list"),
    # Before the detail route; a call whose Call-ID is "export" is still at v1/calls/export/.
    path("v1/calls/export", views.CallExportView.as_view(), name="call-export"),
    # Call-IDs may contain "/" (RFC 3261 "word"), hence the path converter.
    path("v1/calls/<path:call_id>/", views.CallDetailView.as_view(), name="call-detail"),
    # Any segment: a non-numeric id is a JSON 404 from the view, not the HTML page of the resolver.
    path("v1/recordings/<str:pk>/media", views.RecordingMediaView.as_view(), name="recording-media"),
    path("v1/reports/summary", ReportSummaryView.as_view(), name="report-summary"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.ApiDocsView.as_view(), name="docs"),
    path("docs/plain/", docs.PlainDocsView.as_view(), name="docs-plain"),
]
