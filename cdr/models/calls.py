"""CDR data model: tenants, call legs, hangups, transfers and the lifecycle event log.

A Call row is derived state: services recompute it from the distinct events in CallEvent (the
append-only log), so its value never depends on the order events arrived in.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q, Value

from cdr.fields import UInt64Field
from cdr.lifecycle.events import CONTENT_EPOCH
from cdr.models.zones import validate_time_zone


class Tenant(models.Model):
    """A gateway tenant. ``id`` is the gateway's TenantID; 0 means "not resolved"."""

    id = UInt64Field(primary_key=True)
    name = models.CharField(max_length=200, blank=True)
    # An IANA name (cdr.models.zones): checked by full_clean and the admin's select; a row written
    # around them is reported by the cdr.W002 check and on the tenant's admin page.
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)
    # Call records (events, hangup, transfers, recordings) are deleted this many days after the
    # call started, by ``cdr.records_purge``; the report rollups keep counting them. Empty: forever.
    record_retention_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days call records are kept (report totals stay). Empty: keep forever."
    )
    # Records started before this (a UTC midnight) were deleted by retention: set before they are,
    # so a late event of one is refused rather than recreating a stub, and cdr_reports_rebuild keeps
    # the rollups before it (they can no longer be recomputed from rows).
    records_purged_before = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or f"Tenant {self.id}"


class CallStatus(models.TextChoices):
    RINGING = "ringing"
    ESTABLISHED = "established"
    COMPLETED = "completed"
    FAILED = "failed"
    # Closed by the periodic sweeper: no BYE or failure arrived within the timeout.
    EXPIRED = "expired"


ACTIVE_STATUSES = (CallStatus.RINGING, CallStatus.ESTABLISHED)


class Direction(models.TextChoices):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class HangupInitiator(models.TextChoices):
    LOCAL = "local"
    REMOTE = "remote"
    UNKNOWN = "unknown"


class Call(models.Model):
    """One call leg (one SIP dialog), keyed by the gateway's Call-ID."""

    call_id = models.CharField(max_length=255, unique=True)
    correlation_id = models.CharField(max_length=255, blank=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="calls")
    direction = models.CharField(max_length=16, choices=Direction.choices)
    scenario = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=CallStatus.choices)
    remote_addr = models.CharField(max_length=255, blank=True)
    local_ip = models.CharField(max_length=64, blank=True)
    codec = models.CharField(max_length=32, blank=True)
    started_at = models.DateTimeField()
    ringing_at = models.DateTimeField(null=True, blank=True)
    established_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.BigIntegerField(null=True, blank=True)
    billable_ms = models.BigIntegerField(null=True, blank=True)
    pdd_ms = models.BigIntegerField(null=True, blank=True)
    hangup_initiator = models.CharField(max_length=16, blank=True, choices=HangupInitiator.choices)
    sip_code = models.PositiveSmallIntegerField(null=True, blank=True)
    hangup_reason = models.CharField(max_length=255, blank=True)
    # Denormalised from Transfer (set by calls_refresh): "transferred" is a list filter, and an
    # EXISTS over transfers walks every row of a filter that matches nothing.
    transferred = models.BooleanField(default=False, db_default=False)
    # Denormalised from Recording (matched by Call-ID, whichever row arrived first): set by
    # recording_store, recordings_attach_calls and calls_refresh. Stays set after retention
    # deletes the audio: the call was recorded; the recording summary says what is left.
    has_recording = models.BooleanField(default=False, db_default=False)
    # The person's data was erased (cdr.services.erasure): later events of this call are masked
    # before they are stored, so a re-delivery cannot bring it back.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The gateway's labels of the call (cdr.lifecycle.labels: string keys and values, at most 16),
    # folded from its events. On PostgreSQL a GIN index (jsonb_path_ops, migration 0019) serves
    # ``labels @> '{"k": "v"}'``: it is created there by SQL, as SQLite has no GIN.
    labels = models.JSONField(default=dict, db_default=Value({}, output_field=models.JSONField()), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-started_at", "-id"], name="cdr_call_tenant_start"),
            models.Index(fields=["-started_at", "-id"], name="cdr_call_start"),
            models.Index(fields=["correlation_id"], name="cdr_call_correlation"),
            # The API's change feed (order=updated): what was written since a client's cursor.
            models.Index(fields=["updated_at", "id"], name="cdr_call_updated"),
            models.Index(fields=["status", "started_at"], name="cdr_call_status_start"),
            # The ended_after/ended_before filters: without them a range of end times walks the whole
            # start-time index (docs/api.md, "Indexes of the filters", has the plans and figures).
            models.Index(fields=["tenant", "ended_at"], name="cdr_call_tenant_ended"),
            models.Index(fields=["ended_at"], name="cdr_call_ended"),
            # Admin search by remote address prefix (LIKE 'x%' needs pattern ops outside the C collation).
            models.Index(fields=["remote_addr"], name="cdr_call_remote", opclasses=["varchar_pattern_ops"]),
            # Live calls are a sliver of the table: the sweeper and "active calls" read this.
            models.Index(
                fields=["started_at"],
                name="cdr_call_active",
                condition=Q(status__in=["ringing", "established"]),
            ),
            # Transferred calls are a few percent of the table: small partial indexes.
            models.Index(
                fields=["tenant", "-started_at", "-id"], name="cdr_call_xfer_tenant", condition=Q(transferred=True)
            ),
            models.Index(fields=["-started_at", "-id"], name="cdr_call_xfer_start", condition=Q(transferred=True)),
            # Recorded calls: a policy may record few tenants; has_recording=false uses the full indexes.
            models.Index(
                fields=["tenant", "-started_at", "-id"], name="cdr_call_rec_tenant", condition=Q(has_recording=True)
            ),
            models.Index(fields=["-started_at", "-id"], name="cdr_call_rec_start", condition=Q(has_recording=True)),
        ]

    def __str__(self) -> str:
        return self.call_id


class HangupKind(models.TextChoices):
    BYE = "bye"
    FAILED = "failed"
    EXPIRED = "expired"


class Hangup(models.Model):
    """The end that decided a call: the earliest BYE/failure by ``ended_at``.

    Later ends (a crossing second BYE) stay in the event log.
    """

    call = models.OneToOneField(Call, on_delete=models.CASCADE, primary_key=True, related_name="hangup")
    kind = models.CharField(max_length=16, choices=HangupKind.choices)
    initiator = models.CharField(max_length=16, choices=HangupInitiator.choices)
    sip_code = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    reported_duration_ms = models.BigIntegerField(null=True, blank=True)
    ended_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} {self.sip_code or ''} {self.reason}".strip()


class TransferOutcome(models.TextChoices):
    PENDING = "pending"  # dialling, or no agent leg reported yet
    ANSWERED = "answered"  # agent leg established, no bridge reported
    BRIDGED = "bridged"
    FAILED = "failed"  # agent leg failed (no answer, busy, ...)


class Transfer(models.Model):
    """One transfer attempt of an inbound call to a target, and the agent leg that answered it.

    The agent leg is an outbound Call whose ``correlation_id`` is the inbound Call-ID.
    ``outbound_call_id`` is kept as text: a border controller may rewrite the Call-ID, and the
    leg may be reported after the bridge.
    """

    inbound = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="transfers")
    target_uri = models.CharField(max_length=512, blank=True)
    attempt = models.PositiveSmallIntegerField()
    attempted_at = models.DateTimeField(null=True, blank=True)
    outbound_call_id = models.CharField(max_length=255, blank=True)
    outbound = models.ForeignKey(
        Call, on_delete=models.SET_NULL, null=True, blank=True, related_name="transfers_answered"
    )
    bridged_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=TransferOutcome.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["inbound", "attempt"], name="cdr_transfer_attempt_uniq")]
        ordering = ["inbound", "attempt"]

    def __str__(self) -> str:
        return f"{self.inbound_id} -> {self.target_uri or self.outbound_call_id}"


class CallOwner(models.Model):
    """The tenant a Call-ID belongs to: bound once, by the first committed event naming a tenant.

    Decided outside the fold, under the call's lock, by commit order (``cdr.services.owners``),
    never by ``observed_at``, which the client sets. An event naming another tenant for a bound
    call is kept in the log as rejected.
    """

    call_id = models.CharField(max_length=255, primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    # Who bound it (None: the in-process sink or the sweeper); kept if the gateway is deleted.
    gateway_id = models.BigIntegerField(null=True, blank=True)
    bound_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.call_id} -> {self.tenant_id}"


class EventStatus(models.TextChoices):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class CallEvent(models.Model):
    """Append-only log of distinct lifecycle events.

    ``fingerprint`` is a hash of the event's content (not of when it was seen), so a repeated
    event is stored once per ``scope`` (who delivered it), with the earliest time it was observed.
    Rejected events are kept with the reason, so malformed input never silently disappears.
    """

    fingerprint = models.CharField(max_length=32)
    # Who delivered this copy: the gateway's id, 0 for the in-process sink and the sweeper. A copy
    # counts only for tenants its gateway may report, so another gateway's identical content is
    # its own row: it can neither pre-empt nor absorb this one.
    scope = models.BigIntegerField(default=0, db_default=0)
    call_id = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=EventStatus.choices)
    reason = models.TextField(blank=True)
    observed_at = models.DateTimeField()
    source = models.CharField(max_length=16, default="sink")
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    # The time the fingerprinted content names (cdr.lifecycle.events.content_time: the call's start,
    # else the hangup's end, else 1970-01-01): a function of the content, so the same event always
    # has the same one. The log is partitioned by month of it on PostgreSQL (docs/operations.md,
    # "Partitioning"), where the primary key is (id, content_at): ``id`` is unique (one sequence)
    # but no foreign key points here; read a row by pk with its content_at so one partition is probed.
    content_at = models.DateTimeField(default=CONTENT_EPOCH)

    class Meta:
        indexes = [models.Index(fields=["call_id", "observed_at"], name="cdr_event_call")]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint", "scope", "content_at"], name="cdr_event_fingerprint_scope_at"
            )
        ]
        ordering = ["call_id", "observed_at", "id"]

    def __str__(self) -> str:
        return f"{self.type} {self.call_id}"


class IngestedBatch(models.Model):
    """A batch of events committed by ``events_ingest``: the sink's proof it can forget it.

    Written in the same transaction as the batch's rows, so "recorded here" means "stored".
    Rows older than CDR_INGESTED_BATCH_DAYS are purged by ``cdr.batches_purge``.
    """

    batch_id = models.CharField(max_length=64, primary_key=True)
    events = models.PositiveIntegerField()
    committed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.batch_id


class CallFold(models.Model):
    """The fold of a call's accepted events so far (``cdr.lifecycle.state``), so that a batch merges
    only its new events instead of re-reading the call's history from the log.

    One state per counting scope (``cdr.lifecycle.state.counting_scope``: 0, or the gateway whose
    tenant-0 events count only while it may report the call's tenant), as ``{"scope": state}``.
    Keyed by Call-ID, not by Call: events wait here for the event that gives the call its start.

    Every call with accepted events has a row (written with them, under the call's lock), so a
    call without one has none in the log: its fold is its new events. A row of another
    ``STATE_VERSION`` (``STALE``: what migration 0023 wrote for the calls logged before it, and
    what erasure writes after masking a call's events) is folded again from the log when next
    needed; retention deletes the row with the call's events.
    """

    STALE = {"0": {"v": 0}}

    call_id = models.CharField(max_length=255, primary_key=True)
    parts = models.JSONField()

    def __str__(self) -> str:
        return self.call_id
