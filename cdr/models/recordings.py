"""Recordings: the gateway's original blob and its stereo WAV in object storage, plus the rules
(per-tenant policy, legal holds) and the audit trail (who fetched which recording, when, how).

The call row is written asynchronously by the lifecycle pipeline, so a recording may arrive
before its call: ``call_id`` is the gateway Call-ID as text and ``call_leg`` is resolved when the call
exists.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from cdr.models.calls import Call, Tenant


class WavStatus(models.TextChoices):
    PENDING = "pending"  # transcode queued (or not run yet)
    READY = "ready"
    FAILED = "failed"  # the original cannot be decoded: kept, ``wav_error`` says why


class Recording(models.Model):
    """One stored recording of one call leg: the untouched original and (once transcoded) a WAV."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="recordings")
    call_id = models.CharField(max_length=255)
    # The Call row once it exists (``call`` would clash with the ``call_id`` text column).
    call_leg = models.ForeignKey(Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="recordings")
    # The gateway that posted it over HTTP; null for the in-process sink (trusted). It counts only
    # for a call whose tenant that gateway may report (cdr.services.provenance). PROTECT: with
    # SET_NULL, deleting a gateway would turn its recordings into trusted ones.
    gateway = models.ForeignKey(
        "cdr.Gateway", on_delete=models.PROTECT, null=True, blank=True, related_name="recordings"
    )
    # The artifact's RecordingFormat ("sn3", "stereo_pcm"), or "taps" for the WAV built from PCM taps.
    format = models.CharField(max_length=16)
    codec = models.CharField(max_length=16, blank=True)
    sample_rate = models.PositiveIntegerField(default=0)
    channels = models.PositiveSmallIntegerField(default=0)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(max_length=512)
    wav_key = models.CharField(max_length=512, blank=True)
    wav_bytes = models.BigIntegerField(null=True, blank=True)
    wav_status = models.CharField(max_length=16, choices=WavStatus.choices, default=WavStatus.PENDING)
    wav_error = models.TextField(blank=True)
    wav_warnings = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Retention removed the stored objects; the metadata stays.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Also the index for lookups by call_id (its leading column).
        constraints = [models.UniqueConstraint(fields=["call_id", "sha256"], name="cdr_recording_call_sha_uniq")]
        indexes = [
            # The retention sweep reads live recordings per tenant, oldest first.
            models.Index(
                fields=["tenant", "created_at"], name="cdr_recording_live", condition=Q(deleted_at__isnull=True)
            ),
            models.Index(fields=["call_id"], name="cdr_recording_orphan", condition=Q(call_leg__isnull=True)),
            # Live recordings without a WAV (a sliver of the table): /metrics counts them at every
            # scrape, recordings_resume requeues the old pending ones.
            models.Index(
                fields=["wav_status", "created_at"],
                name="cdr_recording_unready",
                condition=Q(deleted_at__isnull=True) & ~Q(wav_status="ready"),
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.call_id} {self.format} {self.sha256[:12]}"


class RecordingPolicy(models.Model):
    """A tenant's recording rules. No row means the defaults: recording on, kept forever."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, primary_key=True, related_name="recording_policy")
    enabled = models.BooleanField(default=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: keep forever.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "recording policies"

    def __str__(self) -> str:
        return f"{self.tenant_id}: {'on' if self.enabled else 'off'}, {self.retention_days or '-'} days"


class LegalHold(models.Model):
    """A call whose recordings retention must not delete while the hold is active."""

    call_id = models.CharField(max_length=255, unique=True)
    reason = models.TextField(blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    placed_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"hold {self.call_id}"


class AccessPurpose(models.TextChoices):
    PLAYBACK = "playback"
    DOWNLOAD = "download"
    API = "api"


class RecordingAccess(models.Model):
    """One link handed out for a recording: who, when, which recording, how."""

    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    purpose = models.CharField(max_length=16, choices=AccessPurpose.choices)
    variant = models.CharField(max_length=16, default="wav")  # "wav" or "original"
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["recording", "-at"], name="cdr_recording_access")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.user_id} {self.purpose} {self.recording_id}"
