"""URLs of the cdr app. A project includes them once: path("", include("cdr.urls"))."""

from django.urls import path  # noqa: F401

app_name = "cdr"

urlpatterns: list = []
