# The production image: runtime dependencies only (requirements.txt; the test tooling lives in
# requirements-dev.txt and never reaches it), static files collected at build time and served by
# the app itself (WhiteNoise), a non-root user, and a HEALTHCHECK on /healthz.
# tests/integration/deploy/test_image.py resolves this file's pip install commands on every run.

# --- build: a virtualenv holding the pinned runtime dependencies --------------------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

# --- runtime: the virtualenv and the source, no compiler, no pip cache --------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    CDR_VAR_DIR=/var/lib/cdr \
    DJANGO_STATIC_ROOT=/app/static
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . .
# Hashed, compressed copies of every static file (admin, report charts, API assets). The throwaway
# key and hosts only let settings load in production mode; nothing is signed at build time.
RUN DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=localhost \
    DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    python manage.py collectstatic --noinput \
 && useradd --create-home --uid 1000 cdr && mkdir -p /var/lib/cdr && chown cdr /var/lib/cdr
USER cdr
EXPOSE 8000
# The web process answers; worker and beat containers override it (docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# Set PROMETHEUS_MULTIPROC_DIR (a writable directory) for /metrics to sum the workers' counters;
# the config file empties it at start (project/gunicorn.conf.py, docs/operations.md "Metrics").
CMD ["gunicorn", "-c", "project/gunicorn.conf.py", "project.wsgi", "-b", "0.0.0.0:8000", "-w", "3"]
