"""Settlement's data: the business calendar (one per currency, its holidays and the days closed
early), the prices and terms a business date is settled with, and the runs that settle it."""

from datetime import time

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from apps.core.ids import uuid7
from apps.settlement.data import BAHRAIN_TIME_ZONE, BAHRAIN_WEEKEND, WEEKDAYS


def _bahrain_weekend() -> list[int]:
    return list(BAHRAIN_WEEKEND)


class BusinessCalendar(models.Model):
    """When a currency's business day ends: its market's weekend, holidays and cut-off."""

    currency = models.CharField(max_length=3, unique=True)
    market_country = models.CharField(max_length=2, help_text="ISO 3166 alpha-2: the market whose holidays apply")
    time_zone = models.CharField(max_length=64, default=BAHRAIN_TIME_ZONE)
    weekend_days = ArrayField(models.PositiveSmallIntegerField(), default=_bahrain_weekend,
                              help_text="Weekdays, Monday 0 to Sunday 6 (Bahrain: Friday 4, Saturday 5)")
    cutoff = models.TimeField("cut-off", default=time(17, 0), help_text="Local time in the calendar's zone")

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="settlement_calendar_currency_iso"),
            models.CheckConstraint(condition=Q(market_country__regex=r"^[A-Z]{2}$"),
                                   name="settlement_calendar_country_iso"),
            models.CheckConstraint(condition=~Q(time_zone=""), name="settlement_calendar_time_zone_named"),
            # Weekdays only, and never all seven: a calendar must leave business days.
            models.CheckConstraint(condition=Q(weekend_days__contained_by=list(WEEKDAYS)),
                                   name="settlement_calendar_weekend_weekdays"),
            models.CheckConstraint(condition=Q(weekend_days__len__lt=7), name="settlement_calendar_weekend_not_all"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} ({self.market_country}, {self.time_zone})"


class Holiday(models.Model):
    class Source(models.TextChoices):
        SEEDED = "seeded", "seeded (the holidays package)"
        STAFF = "staff", "staff (an approved change)"

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=8, choices=Source.choices)
    estimated = models.BooleanField(default=False,
                                    help_text="An Islamic holiday's expected date, to be confirmed when announced")

    class Meta:
        ordering = ["calendar", "date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="settlement_holiday_one_per_date"),
            models.CheckConstraint(condition=Q(source__in=["seeded", "staff"]), name="settlement_holiday_source"),
            models.CheckConstraint(condition=~Q(name=""), name="settlement_holiday_named"),
        ]
        permissions = [("request_holiday_change", "Can request adding, moving or removing a holiday")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class EarlyClosure(models.Model):
    """A business date closed before its cut-off (before a sudden holiday): from ``closed_at`` on,
    instants belong to the next business date."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="early_closures")
    business_date = models.DateField()
    closed_at = models.DateTimeField()
    by = models.CharField(max_length=200, help_text="Who closed it (the actor's label)")
    reason = models.TextField()

    class Meta:
        ordering = ["calendar", "business_date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "business_date"], name="settlement_early_closure_one_per_date"),
            models.CheckConstraint(condition=~Q(by=""), name="settlement_early_closure_by"),
            models.CheckConstraint(condition=~Q(reason=""), name="settlement_early_closure_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.business_date:%Y-%m-%d} closed at {self.closed_at:%H:%M} UTC"



# --- fee plans and terms ------------------------------------------------------------------------
# Every price and term takes effect from a business date and is never edited: a change is a new
# row (through maker-checker), so a settled business date can always be recomputed as it was.

ROUNDING_CHOICES = [
    ("ROUND_HALF_EVEN", "half-even (banker's)"), ("ROUND_HALF_UP", "half-up"), ("ROUND_HALF_DOWN", "half-down"),
    ("ROUND_UP", "up (away from zero)"), ("ROUND_DOWN", "down (toward zero)"), ("ROUND_CEILING", "ceiling"),
    ("ROUND_FLOOR", "floor"),
]
# A fee plan line for every method: the method field is empty.
EVERY_METHOD = ""


class FeePlan(models.Model):
    """A price list: the default plan every merchant pays, or a plan some merchants are put on."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    code = models.SlugField(max_length=64, unique=True, help_text="How staff name it: default, enterprise-2027")
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False, help_text="The plan of every merchant not put on another")
    rounding = models.CharField(max_length=16, choices=ROUNDING_CHOICES, default="ROUND_HALF_EVEN",
                                help_text="How each fee is rounded to a minor unit, once")
    refund_returns_percentage = models.BooleanField(
        default=True, help_text="A refund gives back the percentage part of the fee (never the fixed part)")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-is_default", "code"]
        permissions = [("request_fee_change", "Can request a change to fee plans, merchants' plans or terms")]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True),
                                    name="settlement_fee_plan_one_default"),
            models.CheckConstraint(condition=Q(rounding__in=[mode for mode, _ in ROUNDING_CHOICES]),
                                   name="settlement_fee_plan_rounding"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class FeePlanLine(models.Model):
    """A plan's price for one payment method (or every method) in one currency, from a business date."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    plan = models.ForeignKey(FeePlan, on_delete=models.PROTECT, related_name="lines")
    method = models.CharField(max_length=16, blank=True, help_text="card, instant, wire, wallet; empty: every method")
    currency = models.CharField(max_length=3)
    percent = models.DecimalField(max_digits=9, decimal_places=6, help_text="2.5 is 2.5 % of the amount")
    fixed = models.BigIntegerField(default=0, help_text="Minor units per payment")
    minimum = models.BigIntegerField(null=True, blank=True, help_text="Minor units; empty: none")
    maximum = models.BigIntegerField(null=True, blank=True, help_text="Minor units; empty: none")
    effective_from = models.DateField(help_text="The first business date it prices")
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["plan", "currency", "method", "-effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "method", "currency", "effective_from"],
                                    name="settlement_fee_line_one_per_start"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="settlement_fee_line_currency"),
            models.CheckConstraint(condition=Q(method__in=["", "card", "instant", "wire", "wallet"]),
                                   name="settlement_fee_line_method"),
            models.CheckConstraint(condition=Q(percent__gte=0, percent__lte=100), name="settlement_fee_line_percent"),
            models.CheckConstraint(condition=Q(fixed__gte=0), name="settlement_fee_line_fixed"),
            models.CheckConstraint(condition=Q(minimum__isnull=True) | Q(minimum__gte=0),
                                   name="settlement_fee_line_minimum"),
            models.CheckConstraint(
                condition=Q(maximum__isnull=True) | Q(minimum__isnull=True) | Q(maximum__gte=models.F("minimum")),
                name="settlement_fee_line_bounds"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} {self.method or 'every method'} {self.currency} from {self.effective_from}"


class MerchantFeePlan(models.Model):
    """From a business date on, a merchant pays ``plan`` instead of the default plan."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(FeePlan, on_delete=models.PROTECT, related_name="merchants")
    effective_from = models.DateField()
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["merchant", "-effective_from"]
        verbose_name = "merchant's fee plan"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "effective_from"],
                                    name="settlement_merchant_plan_one_per_start"),
        ]

    def __str__(self) -> str:
        return f"{self.plan.code} from {self.effective_from}"


class SettlementTerms(models.Model):
    """A currency's rolling reserve and payout minimum, for every merchant (no merchant) or one."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", help_text="Empty: every merchant without terms of its own")
    currency = models.CharField(max_length=3)
    reserve_percent = models.DecimalField(max_digits=9, decimal_places=6, default=0,
                                          help_text="Percent of each business date's positive net held")
    reserve_days = models.PositiveSmallIntegerField(default=0, help_text="Business days a reserve is held")
    payout_minimum = models.BigIntegerField(default=0, help_text="Minor units: smaller balances wait for more")
    effective_from = models.DateField()
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["currency", "merchant", "-effective_from"]
        verbose_name_plural = "settlement terms"
        constraints = [
            models.UniqueConstraint(fields=["merchant", "currency", "effective_from"], nulls_distinct=False,
                                    name="settlement_terms_one_per_start"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="settlement_terms_currency"),
            models.CheckConstraint(condition=Q(reserve_percent__gte=0, reserve_percent__lte=100),
                                   name="settlement_terms_reserve_percent"),
            # A reserve is held for at least a business day; no reserve, no days.
            models.CheckConstraint(condition=Q(reserve_percent=0) | Q(reserve_days__gte=1),
                                   name="settlement_terms_reserve_days"),
            models.CheckConstraint(condition=Q(payout_minimum__gte=0), name="settlement_terms_payout_minimum"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} terms from {self.effective_from}"


# --- runs ------------------------------------------------------------------------------------------


class SettlementRun(models.Model):
    """The settlement of one business date in one currency: exactly one, ever."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed (resume it)"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    business_date = models.DateField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    period_start = models.DateTimeField(help_text="The first instant of the business date")
    period_end = models.DateTimeField(help_text="Its cut-off (or early closure): the first instant not in it")
    merchants = models.PositiveIntegerField(default=0, help_text="Merchant lines to settle")
    merchants_settled = models.PositiveIntegerField(default=0)
    gross = models.BigIntegerField(default=0)
    refunds = models.BigIntegerField(default=0)
    fees = models.BigIntegerField(default=0)
    reserve_held = models.BigIntegerField(default=0)
    reserve_released = models.BigIntegerField(default=0)
    net = models.BigIntegerField(default=0)
    fee_rounding_difference = models.BigIntegerField(default=0, help_text="Posted between fee revenue and rounding")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times it was started or resumed")
    failure = models.TextField(blank=True)
    started_by = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-business_date", "currency"]
        permissions = [("resume_settlementrun", "Can resume a failed settlement run")]
        constraints = [
            models.UniqueConstraint(fields=["business_date", "currency"], name="settlement_run_once_per_date"),
            models.CheckConstraint(condition=Q(status__in=["running", "completed", "failed"]),
                                   name="settlement_run_status"),
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")),
                                   name="settlement_run_period"),
            models.CheckConstraint(condition=Q(merchants_settled__lte=models.F("merchants")),
                                   name="settlement_run_progress"),
            models.CheckConstraint(condition=~Q(status="failed") | ~Q(failure=""), name="settlement_run_failure_said"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.business_date:%Y-%m-%d}"


class SettlementLine(models.Model):
    """One merchant's business date in one currency and mode, as its run settled it.

    ``net = gross - refunds - fees - reserve_held + reserve_released``; the ledger moves it from
    merchant pending (and reserve) to merchant available in one linked chain of transfers, or,
    when pending does not hold the money yet (a refund still holding it), not at all: the line
    is then ``carried`` and the next run settles it together with the merchant's new line.
    """

    class Status(models.TextChoices):
        COMPUTED = "computed", "Computed (to post)"
        SETTLED = "settled", "Settled"
        CARRIED = "carried", "Carried (pending did not hold it yet)"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    run = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, related_name="lines")
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="+")
    livemode = models.BooleanField()
    business_date = models.DateField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPUTED)
    captures = models.PositiveIntegerField(default=0)
    gross = models.BigIntegerField(default=0)
    refund_count = models.PositiveIntegerField(default=0)
    refunds = models.BigIntegerField(default=0)
    refunds_from_pending = models.BigIntegerField(default=0, help_text="The refunds' part taken from pending")
    fees_charged = models.BigIntegerField(default=0)
    fees_returned = models.BigIntegerField(default=0)
    fees = models.BigIntegerField(default=0, help_text="Charged less returned")
    fees_exact = models.DecimalField(max_digits=30, decimal_places=12, default=0,
                                     help_text="The fees before rounding, in minor units")
    reserve_held = models.BigIntegerField(default=0)
    reserve_release_on = models.DateField(null=True, blank=True, help_text="When the reserve held is released")
    reserve_released = models.BigIntegerField(default=0)
    released_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="releases",
                                    help_text="The line that releases this line's reserve (as it settles)")
    net = models.BigIntegerField(default=0)
    fee_schedule = models.JSONField(default=dict, blank=True, help_text="The fee plan lines that priced it")
    carried_note = models.CharField(max_length=500, blank=True)
    settled_in = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", help_text="The run that posted it (a later one if carried)")
    last_tried_in = models.ForeignKey(SettlementRun, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", help_text="The last run that tried to post it")
    payout_id = models.UUIDField(null=True, blank=True)
    payout_note = models.CharField(max_length=200, blank=True, help_text="Why no payout: below minimum, no account")
    created_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "merchant_id", "livemode"]
        constraints = [
            models.UniqueConstraint(fields=["run", "merchant", "livemode"], name="settlement_line_once_per_run"),
            models.CheckConstraint(condition=Q(status__in=["computed", "settled", "carried"]),
                                   name="settlement_line_status"),
            models.CheckConstraint(
                condition=Q(gross__gte=0, refunds__gte=0, fees_charged__gte=0, fees_returned__gte=0,
                            reserve_held__gte=0, reserve_released__gte=0, refunds_from_pending__gte=0),
                name="settlement_line_amounts_non_negative"),
            models.CheckConstraint(condition=Q(refunds_from_pending__lte=models.F("refunds")),
                                   name="settlement_line_refunds_split"),
            models.CheckConstraint(condition=Q(fees=models.F("fees_charged") - models.F("fees_returned")),
                                   name="settlement_line_fees"),
            models.CheckConstraint(
                condition=Q(net=models.F("gross") - models.F("refunds") - models.F("fees") - models.F("reserve_held")
                            + models.F("reserve_released")),
                name="settlement_line_net"),
            models.CheckConstraint(condition=Q(reserve_held=0) | Q(reserve_release_on__isnull=False),
                                   name="settlement_line_reserve_released_on_a_date"),
            models.CheckConstraint(condition=~Q(status="settled")
                                   | Q(settled_in__isnull=False, settled_at__isnull=False),
                                   name="settlement_line_settled_by_a_run"),
        ]
        indexes = [
            # Reserve due for release: the run reads it per merchant and date.
            models.Index(fields=["merchant", "currency", "livemode", "reserve_release_on"],
                         condition=Q(reserve_held__gt=0, released_by__isnull=True), name="settlement_reserve_due"),
            models.Index(fields=["currency", "merchant"], condition=Q(status="carried"),
                         name="settlement_line_carried"),
        ]

    def __str__(self) -> str:
        return f"{self.business_date:%Y-%m-%d} {self.currency}"


# --- payout files ----------------------------------------------------------------------------------


class PayoutFile(models.Model):
    """A pain.001 credit transfer initiation: the payouts of one currency leaving one nostro, as
    written (valid against the official XSD) and handed to the bank."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    message_id = models.CharField(max_length=35, unique=True, help_text="GrpHdr/MsgId: the bank's reference to it")
    currency = models.CharField(max_length=3)
    nostro = models.CharField(max_length=64, help_text="The nostro account (its code) the payouts leave from")
    requested_execution_date = models.DateField()
    payouts = models.PositiveIntegerField(help_text="NbOfTxs")
    control_sum = models.BigIntegerField(help_text="CtrlSum, in minor units")
    document = models.BinaryField(help_text="The XML as released")
    sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "payout file (pain.001)"
        constraints = [
            models.CheckConstraint(condition=Q(payouts__gt=0, control_sum__gt=0),
                                   name="settlement_payout_file_not_empty"),
        ]

    def __str__(self) -> str:
        return self.message_id


class StatusReport(models.Model):
    """A pain.002 payment status report from the bank, as imported: what it said of which file."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    message_id = models.CharField(max_length=35, unique=True)
    payout_file = models.ForeignKey(PayoutFile, on_delete=models.PROTECT, related_name="status_reports")
    group_status = models.CharField(max_length=4, blank=True)
    sha256 = models.CharField(max_length=64, unique=True)
    document = models.BinaryField()
    paid = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0, help_text="Statuses that moved no payout (in progress, repeats)")
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-imported_at"]
        verbose_name = "payment status report (pain.002)"
        permissions = [("import_statusreport", "Can import a payment status report (pain.002)")]

    def __str__(self) -> str:
        return self.message_id
