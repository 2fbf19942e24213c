"""What monitoring watches and reads: every movement of money it observed (``MonitoredEvent``, the
indexed record its windows are read from), the high-risk jurisdictions as published (FATF's lists,
dated, with their source), and how far it has read the ledger's wallet transfers.

A window ("this merchant's payments in BHD over the last day") is read from ``MonitoringTally``,
the movements' counts and totals by minute and by hour that a PostgreSQL trigger keeps in the
same transaction as the movements, plus the recorded movements of the window's partial minutes
at either end: so a window costs the same whether the merchant made ten payments that day or a
million, and still counts exactly what a range read of ``MonitoredEvent`` would. Nothing lives
only in a worker's memory, so a restarted worker evaluates the next event exactly as the one it
replaced would have.
"""

from django.db import models
from django.db.models import Q

from apps.compliance.data import ObservationKind
from apps.core.ids import uuid7

_KINDS = [value for value, _ in ObservationKind.CHOICES]


class MonitoredEvent(models.Model):
    """One ``Observation``, recorded once (``monitored_event_once``) however often it is delivered:
    by ``payment_hold_check`` in a payment's own transaction, then again by the payment's outcome
    event, which finds it recorded."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    source = models.CharField(max_length=32, help_text="What it is: payments.payment, payments.refund, …")
    source_id = models.CharField(max_length=100, help_text="Its id in that app (a uuid).")
    kind = models.CharField(max_length=16, choices=ObservationKind.CHOICES)
    merchant_id = models.UUIDField(null=True, blank=True)
    livemode = models.BooleanField()
    amount = models.BigIntegerField(help_text="Minor units of its currency.")
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    method = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    wallet = models.CharField(max_length=40, blank=True, help_text="The customer wallet (acc_…).")
    card_fingerprint = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the card token.")
    iban = models.CharField(max_length=34, blank=True)
    counterparty_name = models.CharField(max_length=200, blank=True)
    failed = models.BooleanField(default=False, help_text="A payment that failed moved no money: windows skip it.")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="monitored_event_once"),
            models.CheckConstraint(condition=Q(kind__in=_KINDS), name="monitored_event_kind_valid"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="monitored_event_amount_positive"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="monitored_event_currency_iso"),
        ]
        # One per window a rule reads (per merchant, wallet, card, IBAN; per mode and currency).
        indexes = [
            models.Index(fields=["merchant_id", "livemode", "currency", "occurred_at"], name="monitored_merchant"),
            models.Index(fields=["wallet", "livemode", "currency", "occurred_at"], condition=~Q(wallet=""),
                         name="monitored_wallet"),
            models.Index(fields=["card_fingerprint", "livemode", "currency", "occurred_at"],
                         condition=~Q(card_fingerprint=""), name="monitored_card"),
            models.Index(fields=["iban", "livemode", "currency", "occurred_at"], condition=~Q(iban=""),
                         name="monitored_iban"),
            models.Index(fields=["occurred_at"], name="monitored_occurred"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.source_id})"


class MonitoringTally(models.Model):
    """How many movements of one kind, and how much, one merchant, wallet, card or IBAN made in
    one minute or one hour (failed payments left out): what windows read instead of every
    movement. Written only by the ``monitoring_tally`` trigger on ``MonitoredEvent``, in the
    transaction that records, marks failed or removes a movement (when it commits, or when it
    reads a window), so a tally never disagrees with the movements any reader can see (migration
    0011)."""

    dimension = models.CharField(max_length=16)
    value = models.CharField(max_length=64, help_text="The merchant's uuid, the wallet, card fingerprint or IBAN.")
    livemode = models.BooleanField()
    currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=16, choices=ObservationKind.CHOICES)
    bucket_seconds = models.IntegerField(help_text="60: a minute; 3600: an hour.")
    bucket_start = models.DateTimeField(help_text="A whole minute or hour (UTC).")
    count = models.BigIntegerField()
    total = models.BigIntegerField(help_text="Minor units of its currency.")

    class Meta:
        constraints = [
            # Also the index windows read: one range of buckets per dimension, mode, currency and kind.
            models.UniqueConstraint(fields=["dimension", "value", "livemode", "currency", "kind", "bucket_seconds",
                                            "bucket_start"], name="monitoring_tally_once"),
            models.CheckConstraint(condition=Q(dimension__in=["merchant", "wallet", "card_fingerprint", "iban"]),
                                   name="monitoring_tally_dimension_valid"),
            models.CheckConstraint(condition=Q(bucket_seconds__in=[60, 3600]), name="monitoring_tally_bucket_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.dimension} {self.value}: {self.count} {self.kind} ({self.total} {self.currency})"


class HighRiskJurisdiction(models.Model):
    """A country on one of FATF's public lists, as published on ``published_on`` (``source`` says
    where): "high-risk jurisdictions subject to a call for action" or "jurisdictions under increased
    monitoring". Seeded from the lists FATF published in October 2025; changed through
    maker-checker (``compliance.high_risk_jurisdiction_set``) when FATF publishes new ones."""

    class List(models.TextChoices):
        CALL_FOR_ACTION = "call_for_action", "High-risk: subject to a call for action"
        INCREASED_MONITORING = "increased_monitoring", "Under increased monitoring"

    country = models.CharField(max_length=2, primary_key=True)
    name = models.CharField(max_length=100)
    list = models.CharField(max_length=24, choices=List.choices)
    published_on = models.DateField(help_text="The date of the publication that put it on this list.")
    source = models.CharField(max_length=300)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["list", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(list__in=["call_for_action", "increased_monitoring"]),
                                   name="high_risk_jurisdiction_list_valid"),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="high_risk_jurisdiction_iso"),
        ]
        permissions = [("request_jurisdiction_change", "Can request a change of the high-risk jurisdictions")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_list_display()})"


class MonitoringCursor(models.Model):
    """How far monitoring has read a feed it tails (the ledger's wallet transfers): the largest
    uuid7 id seen. Reads start a margin before it, so a row committed late is not skipped."""

    name = models.CharField(max_length=50, primary_key=True)
    last_id = models.UUIDField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
