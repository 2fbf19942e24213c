"""FX: published rates (append-only), quotes a merchant may execute for a few seconds, the
conversions that executed them, and each currency's rounding differences not yet posted.

Money is in integer minor units; rates are decimals with 10 places (``mid_rate``) and the client
rate is kept exact (``mid x (1 - spread)``: 20 places).
"""

from auditlog.registry import auditlog
from django.db import models
from django.db.models import F, Q

from apps.core.ids import uuid7

RATE_DIGITS, RATE_PLACES = 24, 10
CLIENT_RATE_DIGITS, CLIENT_RATE_PLACES = 44, 20
DIFFERENCE_DIGITS, DIFFERENCE_PLACES = 60, 40
DEFAULT_MAX_AGE_SECONDS = 3600
_CURRENCY = r"^[A-Z]{3}$"


class FxRate(models.Model):
    """1 ``base`` = ``mid_rate`` ``quote`` as ``source`` published it at ``as_of``. Rows are never
    changed: a new rate is a new row, and the newest ``as_of`` of a pair is its current rate."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    base_currency = models.CharField(max_length=3)
    quote_currency = models.CharField(max_length=3)
    mid_rate = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    spread = models.DecimalField(max_digits=11, decimal_places=RATE_PLACES,
                                 help_text="A fraction of the mid rate: 0.0025 is 25 basis points")
    source = models.CharField(max_length=100)
    as_of = models.DateTimeField(help_text="When the source published the rate")
    max_age_seconds = models.PositiveIntegerField(default=DEFAULT_MAX_AGE_SECONDS,
                                                  help_text="Past this age the rate quotes no conversion")
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=255)

    class Meta:
        ordering = ["base_currency", "quote_currency", "-as_of"]
        verbose_name = "FX rate"
        permissions = [("import_fxrate", "Can import FX rates")]
        indexes = [models.Index(fields=["base_currency", "quote_currency", "-as_of"], name="treasury_fxrate_pair")]
        constraints = [
            models.CheckConstraint(condition=Q(base_currency__regex=_CURRENCY) & Q(quote_currency__regex=_CURRENCY),
                                   name="treasury_fxrate_currencies"),
            models.CheckConstraint(condition=~Q(base_currency=F("quote_currency")),
                                   name="treasury_fxrate_two_currencies"),
            models.CheckConstraint(condition=Q(mid_rate__gt=0), name="treasury_fxrate_positive"),
            models.CheckConstraint(condition=Q(spread__gte=0) & Q(spread__lt=1), name="treasury_fxrate_spread"),
            models.CheckConstraint(condition=Q(max_age_seconds__gte=1), name="treasury_fxrate_max_age"),
            models.UniqueConstraint(fields=["base_currency", "quote_currency", "as_of"], name="treasury_fxrate_once"),
        ]

    def __str__(self) -> str:
        return f"{self.base_currency}/{self.quote_currency} {self.mid_rate} ({self.source}, {self.as_of.isoformat()})"


class FxQuote(models.Model):
    """A price a merchant may execute once, until ``expires_at``: selling ``sell_amount`` of one
    currency for ``buy_amount`` of another at ``client_rate`` (buy per sell, major units)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant_id = models.UUIDField()
    livemode = models.BooleanField()
    sell_currency = models.CharField(max_length=3)
    sell_amount = models.BigIntegerField()
    buy_currency = models.CharField(max_length=3)
    buy_amount = models.BigIntegerField()
    fixed_side = models.CharField(max_length=4, choices=[("sell", "sell"), ("buy", "buy")],
                                  help_text="The amount the merchant gave; the other was computed")
    rate = models.ForeignKey(FxRate, on_delete=models.PROTECT, related_name="quotes")
    inverted = models.BooleanField(default=False, help_text="Priced from the published rate of the other direction")
    mid_rate = models.DecimalField(max_digits=RATE_DIGITS, decimal_places=RATE_PLACES)
    spread = models.DecimalField(max_digits=11, decimal_places=RATE_PLACES)
    client_rate = models.DecimalField(max_digits=CLIENT_RATE_DIGITS, decimal_places=CLIENT_RATE_PLACES)
    rounding_currency = models.CharField(max_length=3)
    rounding_difference = models.DecimalField(max_digits=DIFFERENCE_DIGITS, decimal_places=DIFFERENCE_PLACES)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    created_by = models.CharField(max_length=255)

    class Meta:
        ordering = ["-id"]
        verbose_name = "FX quote"
        indexes = [models.Index(fields=["merchant_id", "livemode", "-id"], name="treasury_fxquote_merchant")]
        constraints = [
            models.CheckConstraint(condition=~Q(sell_currency=F("buy_currency")),
                                   name="treasury_fxquote_two_currencies"),
            models.CheckConstraint(condition=Q(sell_amount__gt=0) & Q(buy_amount__gt=0),
                                   name="treasury_fxquote_amounts_positive"),
            models.CheckConstraint(condition=Q(client_rate__gt=0), name="treasury_fxquote_rate_positive"),
            models.CheckConstraint(condition=Q(expires_at__gt=F("created_at")), name="treasury_fxquote_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.sell_amount} {self.sell_currency} → {self.buy_amount} {self.buy_currency}"


class FxConversion(models.Model):
    """An executed quote: the sell wallet paid the FX position of its currency, and the FX position
    of the other currency paid the buy wallet, in one ledger batch. One per quote."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    quote = models.OneToOneField(FxQuote, on_delete=models.PROTECT, related_name="conversion")
    merchant_id = models.UUIDField()
    livemode = models.BooleanField()
    sell_account_id = models.UUIDField()
    buy_account_id = models.UUIDField()
    sell_transfer_id = models.UUIDField()
    buy_transfer_id = models.UUIDField()
    rounding_transfer_id = models.UUIDField(null=True, blank=True,
                                            help_text="The whole minor unit of rounding posted with it, if any")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=255)

    class Meta:
        ordering = ["-id"]
        verbose_name = "FX conversion"
        indexes = [models.Index(fields=["merchant_id", "livemode", "-id"], name="treasury_fxconv_merchant")]

    def __str__(self) -> str:
        return f"conversion of quote {self.quote_id}"


class FxRoundingCarry(models.Model):
    """Per currency and mode, the rounding differences of conversions not yet posted: always a
    fraction of a minor unit. Whole units are posted (FX position ↔ rounding) as they form."""

    currency = models.CharField(max_length=3)
    livemode = models.BooleanField()
    remainder = models.DecimalField(max_digits=DIFFERENCE_DIGITS, decimal_places=DIFFERENCE_PLACES, default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "FX rounding carry"
        constraints = [
            models.UniqueConstraint(fields=["currency", "livemode"], name="treasury_fxcarry_once"),
            models.CheckConstraint(condition=Q(remainder__gt=-1) & Q(remainder__lt=1),
                                   name="treasury_fxcarry_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} ({'live' if self.livemode else 'test'}): {self.remainder} unposted"


auditlog.register(FxRate)
