"""Report rollups: additive counters per (tenant, 15-minute UTC slot, dims), kept current by the
write path (``cdr.services.rollups``), plus the ledger of what each call leg last added.

The ledger (``ReportShare``) makes every update a delta "new share - old share": a duplicated,
late or reordered event recomputes the call and changes the rollups only by what changed.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from cdr.fields import UInt64Field
from cdr.models.calls import Call, Tenant


class _Counters(models.Model):
    attempts = models.BigIntegerField(default=0)
    answered = models.BigIntegerField(default=0)
    billable_ms = models.BigIntegerField(default=0)
    pdd_n = models.BigIntegerField(default=0)
    pdd_ms = models.BigIntegerField(default=0)
    transfers = models.BigIntegerField(default=0)
    bridged = models.BigIntegerField(default=0)
    recorded = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class ReportSlot(_Counters):
    """Counters of the legs of one tenant started in one 15-minute UTC slot, split by a few dims."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    slot = models.DateTimeField()
    direction = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    sip_code = models.PositiveSmallIntegerField(default=0)  # 0: no code
    initiator = models.CharField(max_length=16, blank=True)

    class Meta:
        # Also the index of every report read (tenant = x AND slot in a range).
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "slot", "direction", "status", "sip_code", "initiator"],
                name="cdr_report_slot_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.slot:%Y-%m-%d %H:%M} {self.direction} {self.status}: {self.attempts}"


class ReportPdd(models.Model):
    """Histogram of post-dial delay per (tenant, slot, direction): ``n`` legs in bin ``bin``."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    slot = models.DateTimeField()
    direction = models.CharField(max_length=16)
    bin = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slot", "direction", "bin"], name="cdr_report_pdd_key")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.slot:%Y-%m-%d %H:%M} {self.direction} bin {self.bin}: {self.n}"


class ReportHour(_Counters):
    """ReportSlot summed per UTC hour: a whole-hour zone's local days are whole UTC hours."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    direction = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    sip_code = models.PositiveSmallIntegerField(default=0)
    initiator = models.CharField(max_length=16, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "hour", "direction", "status", "sip_code", "initiator"],
                name="cdr_report_hour_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.hour:%Y-%m-%d %H:00} {self.direction} {self.status}: {self.attempts}"


class ReportPddHour(models.Model):
    """ReportPdd summed per UTC hour."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    hour = models.DateTimeField()
    direction = models.CharField(max_length=16)
    bin = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "hour", "direction", "bin"], name="cdr_report_pdd_hour_key")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.hour:%Y-%m-%d %H:00} {self.direction} bin {self.bin}: {self.n}"


class ReportDay(_Counters):
    """ReportSlot summed per UTC day: long ranges read whole days here and only their edges from slots."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    direction = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    sip_code = models.PositiveSmallIntegerField(default=0)
    initiator = models.CharField(max_length=16, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "direction", "status", "sip_code", "initiator"],
                name="cdr_report_day_key",
            )
        ]
        # The all-tenants overview reads one day range across every tenant.
        indexes = [models.Index(fields=["day", "tenant"], name="cdr_report_day_by_day")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.direction} {self.status}: {self.attempts}"


class ReportPddDay(models.Model):
    """ReportPdd summed per UTC day."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    day = models.DateField()
    direction = models.CharField(max_length=16)
    bin = models.PositiveSmallIntegerField()
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day", "direction", "bin"], name="cdr_report_pdd_day_key")
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.direction} bin {self.bin}: {self.n}"


class _Mix(_Counters):
    """The breakdowns' rollups: counters per (tenant, time, direction, scenario, codec), apart from the
    main rollups so their rows (and every report's read) do not multiply by scenario x codec."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    direction = models.CharField(max_length=16)
    scenario = models.CharField(max_length=64, blank=True)  # "": none
    codec = models.CharField(max_length=32, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.direction} {self.scenario or '-'} {self.codec or '-'}: {self.attempts}"


class ReportMixSlot(_Mix):
    """ReportSlot's legs per (direction, scenario, codec)."""

    slot = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "slot", "direction", "scenario", "codec"], name="cdr_report_mix_slot_key"
            )
        ]


class ReportMixHour(_Mix):
    """ReportMixSlot summed per UTC hour."""

    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "hour", "direction", "scenario", "codec"], name="cdr_report_mix_hour_key"
            )
        ]


class ReportMixDay(_Mix):
    """ReportMixSlot summed per UTC day."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "direction", "scenario", "codec"], name="cdr_report_mix_day_key"
            )
        ]


class ReportShare(models.Model):
    """What one call leg currently contributes to ReportSlot/ReportPdd (see ``cdr.reports.metrics.Share``)."""

    call = models.OneToOneField(Call, on_delete=models.CASCADE, primary_key=True, related_name="+")
    tenant_id = UInt64Field()
    slot = models.DateTimeField()
    direction = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    sip_code = models.PositiveSmallIntegerField(default=0)
    initiator = models.CharField(max_length=16, blank=True)
    scenario = models.CharField(max_length=64, blank=True, default="")
    codec = models.CharField(max_length=32, blank=True, default="")
    answered = models.BooleanField()
    billable_ms = models.BigIntegerField()
    pdd_ms = models.BigIntegerField(null=True)
    transfers = models.PositiveIntegerField()
    bridged = models.PositiveIntegerField()
    recorded = models.BooleanField()
    # The span the leg was last counted over for peak concurrency (see ReportPeak).
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"share of call {self.call_id}"


class ReportPending(models.Model):
    """A call leg whose share may have changed since the rollups last counted it.

    The ingest transaction only inserts these (one cheap statement per batch); ``rollups_catch_up``
    applies them in large batches off the ingest path, so recording CDR rows never waits on the
    rollup rows every writer of a tenant would otherwise contend for.
    """

    call_id = models.CharField(max_length=255, primary_key=True)
    marked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"pending {self.call_id}"


class ReportPeak(models.Model):
    """Peak concurrent legs of a tenant within one 15-minute UTC slot (``cdr.reports.peaks``).

    A max, not a sum: the write path only bumps ``dirty`` on the slots a changed leg spans;
    readers recompute dirty slots from the raw rows before use, and clear ``dirty`` only if no
    writer bumped it meanwhile (compare-and-set on the value they read).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    slot = models.DateTimeField()
    peak = models.IntegerField(default=0)
    dirty = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "slot"], name="cdr_report_peak_key")]
        indexes = [models.Index(fields=["tenant", "slot"], name="cdr_report_peak_dirty", condition=Q(dirty__gt=0))]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.slot:%Y-%m-%d %H:%M}: {self.peak}{' (dirty)' if self.dirty else ''}"


class Report(ReportSlot):
    """No table of its own: gives the admin's "Reports" page its place in the app index."""

    class Meta:
        proxy = True
        verbose_name = "report"
        verbose_name_plural = "reports"
