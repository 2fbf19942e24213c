"""Webhooks' data: a merchant's endpoints, the events they receive, one delivery per event and
endpoint, and one attempt per HTTP request.

Merchant ids are stored, not foreign keys (merchants sit above events). The models belong to the
``events`` app (``apps.events.models`` re-exports them for Django); their tables keep its names.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models

from apps.core.ids import uuid7


class WebhookEndpoint(models.Model):
    """A URL of a merchant's, in test or live mode, and the event types it receives.

    Its signing secret is never stored: it is derived from ``FINCORE_WEBHOOK_KEY``, the
    endpoint's id and ``secret_generation`` (see ``signing``). Rotating bumps the
    generation; the previous one stays valid until ``previous_secret_expires_at``.
    """

    class DisabledCause(models.TextChoices):
        FAILING = "failing", "Deliveries failed for days"
        MERCHANT = "merchant", "Disabled by the merchant"
        STAFF = "staff", "Disabled by staff"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant_id = models.UUIDField()
    livemode = models.BooleanField()
    url = models.URLField(max_length=2048)
    events = ArrayField(
        models.CharField(max_length=100), help_text="Event types sent to this endpoint; '*' for all of them."
    )
    description = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_cause = models.CharField(max_length=16, choices=DisabledCause.choices, blank=True)
    disabled_reason = models.TextField(blank=True)
    # Removed by its merchant: kept for the history of its deliveries, never shown or used again.
    deleted_at = models.DateTimeField(null=True, blank=True)
    secret_generation = models.PositiveIntegerField(default=1)
    previous_secret_generation = models.PositiveIntegerField(null=True, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # Start of the current run of failed attempts (none since a success); None while healthy.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "webhook endpoint"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(enabled=True, disabled_at__isnull=True, disabled_cause="")
                | (models.Q(enabled=False, disabled_at__isnull=False) & ~models.Q(disabled_cause="")
                   & ~models.Q(disabled_reason="")),
                name="webhook_endpoint_disabled_complete",
            ),
            models.CheckConstraint(
                condition=models.Q(deleted_at__isnull=True) | models.Q(enabled=False),
                name="webhook_endpoint_deleted_disabled",
            ),
            models.CheckConstraint(
                condition=models.Q(previous_secret_generation__isnull=True, previous_secret_expires_at__isnull=True)
                | models.Q(previous_secret_generation__isnull=False, previous_secret_expires_at__isnull=False,
                           previous_secret_generation__lt=models.F("secret_generation")),
                name="webhook_endpoint_previous_secret_complete",
            ),
            models.CheckConstraint(condition=models.Q(events__len__gt=0), name="webhook_endpoint_has_events"),
            models.CheckConstraint(condition=models.Q(url__regex=r"^https?://"), name="webhook_endpoint_url_http"),
            models.CheckConstraint(
                condition=models.Q(livemode=False) | models.Q(url__startswith="https://"),
                name="webhook_endpoint_live_https",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant_id", "livemode", "id"], name="webhook_endpoint_merchant"),
        ]

    def __str__(self) -> str:
        return self.url

    @property
    def status(self) -> str:
        if self.deleted_at is not None:
            return "deleted"
        return "enabled" if self.enabled else "disabled"


class WebhookEvent(models.Model):
    """Something that happened to a merchant's objects, as its endpoints receive it."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant_id = models.UUIDField()
    livemode = models.BooleanField()
    type = models.CharField(max_length=100)
    data = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "webhook event"
        indexes = [
            models.Index(fields=["merchant_id", "livemode", "id"], name="webhook_event_merchant"),
            models.Index(fields=["merchant_id", "livemode", "type", "id"], name="webhook_event_merchant_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} [{self.id}]"


class WebhookDelivery(models.Model):
    """One event to one endpoint: retried with backoff until it succeeds or its time is up.

    ``next_attempt_at`` is when the sweep (``webhooks.deliver_due``) should next hand it to a
    worker; ``leased_until`` and ``lease_token`` mark the worker sending it right now, so two
    copies of one message never both send. ``manual`` deliveries are redeliveries someone asked for.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    last_response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    manual = models.BooleanField(default=False)
    requested_by = models.CharField(max_length=200, blank=True, help_text="Who asked for a redelivery.")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # An event goes once to each endpoint on its own; redeliveries are asked for.
            models.UniqueConstraint(
                fields=["event", "endpoint"], condition=models.Q(manual=False), name="webhook_delivery_once"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "succeeded", "failed"]), name="webhook_delivery_status"
            ),
            models.CheckConstraint(
                condition=models.Q(status="pending", delivered_at__isnull=True, failed_at__isnull=True)
                | models.Q(status="succeeded", delivered_at__isnull=False, next_attempt_at__isnull=True)
                | models.Q(status="failed", failed_at__isnull=False, next_attempt_at__isnull=True),
                name="webhook_delivery_status_complete",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_delivery_due", condition=models.Q(status="pending")
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.url} ({self.status})"


class WebhookDeliveryAttempt(models.Model):
    """One HTTP request of a delivery, and what came back (or why nothing did)."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.PROTECT, related_name="attempt_set")
    number = models.PositiveIntegerField()
    requested_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    url = models.URLField(max_length=2048)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, help_text="Why no response was received, if none was.")
    response_body = models.TextField(blank=True, help_text="The first characters of the response body.")
    succeeded = models.BooleanField()

    class Meta:
        verbose_name = "webhook delivery attempt"
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_once"),
            models.CheckConstraint(
                condition=models.Q(response_status__isnull=False) | ~models.Q(error=""),
                name="webhook_attempt_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
