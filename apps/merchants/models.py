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


class BankAccount(models.Model):
    """Where a merchant's payouts in one currency go: an IBAN, its bank's BIC and the beneficiary.

    Set and changed only through maker-checker (``merchants.bank_account_set``): a change makes a
    new row and marks the one it replaces ``replaced``, so every account payouts ever went to stays
    on record. One active account per merchant and currency (a partial unique constraint). Payouts
    to a new or changed account wait until ``payouts_held_until`` (24 h after the approval): an
    account taken over by someone else is noticed before money leaves.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REPLACED = "replaced", "Replaced"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="bank_accounts")
    currency = models.CharField(max_length=3, help_text="ISO 4217: the payouts in this currency go here.")
    iban = models.CharField("IBAN", max_length=34, help_text="Stored as printed without spaces, upper case.")
    bic = models.CharField("BIC", max_length=11, help_text="The beneficiary's bank (8 or 11 characters).")
    beneficiary_name = models.CharField(max_length=140, help_text="The account holder, as the bank knows them.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200, help_text="The maker, and the checker who approved it.")
    payouts_held_until = models.DateTimeField(help_text="Payouts to this account wait until then.")
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "currency"], condition=models.Q(status="active"),
                                    name="bank_account_one_active_per_currency"),
            models.CheckConstraint(condition=models.Q(status__in=["active", "replaced"]),
                                   name="bank_account_status_valid"),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="bank_account_currency_iso"),
            models.CheckConstraint(condition=models.Q(iban__regex=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"),
                                   name="bank_account_iban_shape"),
            models.CheckConstraint(condition=models.Q(bic__regex=r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$"),
                                   name="bank_account_bic_shape"),
            models.CheckConstraint(condition=models.Q(beneficiary_name__regex=r"\S"),
                                   name="bank_account_beneficiary_named"),
            models.CheckConstraint(condition=models.Q(payouts_held_until__gte=models.F("created_at")),
                                   name="bank_account_hold_after_creation"),
            models.CheckConstraint(
                condition=models.Q(status="active", replaced_at__isnull=True)
                | models.Q(status="replaced", replaced_at__isnull=False),
                name="bank_account_replaced_at_when_replaced",
            ),
        ]
        permissions = [("request_bank_account_change", "Can request setting or changing a merchant's bank account")]

    def __str__(self) -> str:
        return f"{self.currency} ··{self.iban[-4:]} ({self.beneficiary_name})"


auditlog.register(Merchant)
auditlog.register(ApiKey, exclude_fields=["secret_hash", "last_used_at"])
