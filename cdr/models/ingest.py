"""Gateways that deliver lifecycle events and recordings over HTTP, and the event ids they sent."""

from __future__ import annotations

from django.db import models


class Gateway(models.Model):
    """A gateway process allowed to post to /ingest/v1/ (HMAC-signed requests).

    HMAC needs the shared secret itself, so it cannot be stored as a one-way hash like an API
    token: it is stored encrypted (Fernet, key from CDR_GATEWAY_SECRET_KEY or SECRET_KEY) and
    decrypted only to verify a signature. ``tenant_ids`` are the only tenants it may report.
    """

    name = models.CharField(max_length=100, unique=True)
    key_id = models.CharField(max_length=32, unique=True)
    secret_encrypted = models.TextField()
    tenant_ids = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"


class GatewayEvent(models.Model):
    """An ``event_id`` a gateway delivered and we accepted: a re-post of it is a duplicate.

    Inserted in the transaction that publishes the event, so a failed publish forgets it too.
    Pruned after CDR_INGEST_EVENT_ID_DAYS by ``cdr.gateway_events_purge``; a re-post after that
    is accepted again and is still harmless (the store is idempotent by content).
    """

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="events")
    event_id = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=32)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "event_id"], name="cdr_gatewayevent_once")]

    def __str__(self) -> str:
        return f"{self.gateway_id}:{self.event_id}"


class GatewayBatch(models.Model):
    """Accepted events of one request, waiting to be stored: the HTTP edge's durable outbox.

    Inserted in the transaction that remembers the event ids, so the answer "accepted" means
    committed here; ``cdr.gateway_batches_drain`` stores queued batches up to 1,000 events at a
    time (a worker pays per task, so ten 100-event requests cost it as much as one) and deletes
    them in the transaction that stores them: never lost, never stored twice.
    """

    batch_id = models.CharField(max_length=40, unique=True)
    gateway = models.ForeignKey(Gateway, on_delete=models.PROTECT, related_name="batches")
    events = models.TextField()  # cdr.lifecycle.handoff: the validated events (or, queued before it, the wire JSON)
    event_count = models.PositiveIntegerField()
    received_at = models.DateTimeField()
    # Why storing it failed for a reason another attempt cannot fix (a bug): set aside, so the
    # batches behind it go on; kept for an operator (fix, then clear the error to drain it).
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "queued HTTP batch"
        verbose_name_plural = "queued HTTP batches"

    def __str__(self) -> str:
        return f"{self.batch_id} ({self.event_count} events)"
