"""URLs of the cdr app. A project includes them once: path("", include("cdr.urls"))."""

from django.urls import path

from cdr.views import recordings

app_name = "cdr"

urlpatterns: list = [
    path("recordings/<int:pk>/link/", recordings.recording_link_view, name="recording-link"),
    path("recordings/<int:pk>/waveform.svg", recordings.recording_waveform_view, name="recording-waveform"),
    path("recordings/file/<str:token>/", recordings.recording_file_view, name="recording-file"),
]
