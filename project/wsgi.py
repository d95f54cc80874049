import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()

# Import every view now, then move everything loaded so far out of the garbage collector's reach:
# full collections then walk only what requests allocate, not the whole framework (HTTP ingestion
# of a 250-event batch spent ~3 ms of its ~40 in the collector before; see bench/ingest_http.py).
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
gc.freeze()
