"""The audit trail of deleted and erased call records: one row per tenant and retention run, and
one per erasure. It never stores the erased data itself: a selector is kept as a keyed hash."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cdr.models.calls import Tenant


class DeletionKind(models.TextChoices):
    RETENTION = "retention"  # records past the tenant's record_retention_days
    ERASURE = "erasure"  # one person's data, on request (cdr_erase, the call admin)


class RecordDeletion(models.Model):
    """Who deleted or erased which records of a tenant, when, under which policy, and how many."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=DeletionKind.choices)
    # "task cdr.records_purge", "command cdr_erase", "admin"; ``user`` when a person did it.
    actor = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Retention: "record_retention_days=30"; erasure: the selector's kind ("call_id", "remote_addr", "label").
    policy = models.CharField(max_length=200)
    # Retention: records started before this were deleted. Erasure: empty.
    cutoff = models.DateTimeField(null=True, blank=True)
    # Erasure: HMAC-SHA256 of the selector's value (CDR_ERASURE["HASH_KEY"]): a later request for
    # the same person can be matched to this row, the row alone does not reveal who.
    selector_hash = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    calls = models.BigIntegerField(default=0)
    events = models.BigIntegerField(default=0)
    recordings = models.BigIntegerField(default=0)
    # Retention: expired calls kept because of an active legal hold.
    held = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-started_at"], name="cdr_deletion_tenant")]
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} of tenant {self.tenant_id} at {self.started_at:%Y-%m-%d %H:%M}: {self.calls} calls"
