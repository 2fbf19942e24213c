from auditlog.registry import auditlog
from django.contrib.postgres.fields import ArrayField
from django.db import models

from apps.core.ids import uuid7


class Merchant(models.Model):
    """A business that takes payments through fincore, and whom every API key belongs to."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    legal_name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. BH.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    currencies = ArrayField(
        models.CharField(max_length=3),
        help_text="ISO 4217 codes the merchant may transact in, e.g. BHD, USD.",
    )
    rate_limit = models.CharField(
        max_length=32,
        blank=True,
        help_text="API requests allowed per key, e.g. 200/second. Empty: the platform default.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="merchant_country_iso"),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]), name="merchant_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(currencies__len__gt=0), name="merchant_has_currency"
            ),
        ]

    def __str__(self) -> str:
        return self.legal_name

    # DRF's IsAuthenticated asks the authenticated principal this; an API caller is a merchant.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class ApiKey(models.Model):
    """A merchant's secret key. Only its SHA-256 is stored; the secret is shown once."""

    class Mode(models.TextChoices):
        TEST = "test", "Test"
        LIVE = "live", "Live"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="What the key is for, e.g. 'checkout server'.")
    mode = models.CharField(max_length=4, choices=Mode.choices)
    hint = models.CharField(max_length=16, help_text="The secret's first characters, to recognise it.")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=200, blank=True)
    revoke_reason = models.TextField(blank=True)

    class Meta:
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(condition=models.Q(mode__in=["test", "live"]), name="api_key_mode_valid"),
            models.CheckConstraint(
                condition=models.Q(revoked_at__isnull=True) | ~models.Q(revoke_reason=""),
                name="api_key_revocation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hint}… ({self.name})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


auditlog.register(Merchant)
auditlog.register(ApiKey, exclude_fields=["secret_hash", "last_used_at"])
