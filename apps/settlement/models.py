"""The business calendar: one per currency, its holidays and the days closed early."""

from datetime import time

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

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

