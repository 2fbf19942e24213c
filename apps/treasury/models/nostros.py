"""The bank accounts fincore holds (its nostros): where payouts leave from and acquirers pay in.

Each is the ledger's nostro account of its currency named by ``code``. Positions, FX and sweeps
build on them (the treasury issue); settlement needs only which account each currency's payouts
leave from.
"""

from auditlog.registry import auditlog
from django.db import models
from django.db.models import Q

from apps.core.ids import uuid7


class NostroAccount(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    code = models.SlugField(max_length=64, unique=True,
                            help_text="How fincore names it, and the name of its ledger nostro account")
    currency = models.CharField(max_length=3)
    bank_name = models.CharField(max_length=140)
    bic = models.CharField("BIC", max_length=11)
    iban = models.CharField("IBAN", max_length=34)
    account_name = models.CharField(max_length=140, help_text="The holder's name as the bank knows it")
    pays_out = models.BooleanField(default=False, help_text="Payouts in its currency leave from it")
    low_liquidity_threshold = models.BigIntegerField(
        null=True, blank=True,
        help_text="In minor units (1.250 BHD = 1250): a forecast closing balance below it raises a low-liquidity "
                  "alert. Empty: no threshold.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["currency", "code"]
        verbose_name = "nostro account"
        constraints = [
            models.CheckConstraint(
                condition=Q(low_liquidity_threshold__isnull=True) | Q(low_liquidity_threshold__gte=0),
                name="treasury_nostro_threshold"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="treasury_nostro_currency"),
            models.CheckConstraint(condition=Q(bic__regex=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$"), name="treasury_nostro_bic"),
            models.CheckConstraint(condition=Q(iban__regex=r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$"),
                                   name="treasury_nostro_iban"),
            models.UniqueConstraint(fields=["currency"], condition=Q(pays_out=True),
                                    name="treasury_one_payout_nostro_per_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.currency}, {self.bank_name})"


auditlog.register(NostroAccount)
