"""The audit journal: append-only rows, each signed, sealed in order into a SHA-256 chain.

- :class:`AuditEvent` is one business event. The application signs it (HMAC-SHA256 with
  ``FINCORE_AUDIT_KEY``) as it is written, so a row forged or edited with SQL is detectable.
- :class:`AuditSeal` is its place in the chain: ``hash = HMAC-SHA256(prev_hash, seq, event)``.
  A beat job writes seals in order, so writers never wait on a global lock.
- :class:`PendingSeal` is the job's work queue, filled by a trigger on every new event, so
  even a row inserted behind the application's back is sealed (and then fails verification).
- :class:`AdminChange` is django-auditlog's log entry, shown in the admin's Audit section
  beside the journal (a proxy: auditlog keeps its own table).

Both journal tables refuse UPDATE and DELETE in PostgreSQL (migration 0002).
"""

import uuid

from auditlog.models import LogEntry
from django.db import models


class AuditEvent(models.Model):
    class ActorType(models.TextChoices):
        STAFF = "staff", "Staff user"
        API_KEY = "api_key", "Merchant API key"
        SYSTEM = "system", "System job"

    id = models.BigAutoField(primary_key=True)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurred_at = models.DateTimeField()
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64)
    actor_label = models.CharField(max_length=200)
    merchant_id = models.CharField(max_length=64, blank=True, db_index=True)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=128, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    signature = models.CharField(max_length=64, help_text="HMAC-SHA256 of the row's content.")

    class Meta:
        verbose_name = "journal entry"
        verbose_name_plural = "journal"
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            models.Index(fields=["occurred_at"], name="audit_event_occurred_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actor_type__in=["staff", "api_key", "system"]),
                name="audit_event_actor_type_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id} by {self.actor_label}"


class AuditSeal(models.Model):
    seq = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.DO_NOTHING, related_name="seal")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seal_seq_positive")]

    def __str__(self) -> str:
        return f"seal {self.seq}"


class PendingSeal(models.Model):
    event_id = models.BigIntegerField(primary_key=True)

    def __str__(self) -> str:
        return f"event {self.event_id} awaiting its seal"


class AdminChange(LogEntry):
    """django-auditlog's field-by-field record of a change made in the admin."""

    class Meta:
        proxy = True
        verbose_name = "admin change"
        verbose_name_plural = "admin change log"
