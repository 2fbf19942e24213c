"""Positions (a proxy of the nostros, for the admin's page) and low-liquidity alerts: a nostro
whose 7-business-day forecast falls below its threshold.

At most one alert per nostro is open (a partial unique constraint): the check every 15 minutes
raises it once, updates nothing while the forecast stays below, and clears it when the forecast
recovers. A treasury operator acknowledges it (with a reason) while it is open or after.
"""

from django.db import models
from django.db.models import Q

from apps.core.ids import uuid7
from apps.treasury.models.nostros import NostroAccount


class LiquidityAlert(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    nostro = models.ForeignKey(NostroAccount, on_delete=models.PROTECT, related_name="liquidity_alerts")
    currency = models.CharField(max_length=3)
    forecast_date = models.DateField(help_text="The first business date whose closing forecast is below the threshold")
    forecast_balance = models.BigIntegerField(help_text="The forecast closing balance that day, in minor units")
    threshold = models.BigIntegerField(help_text="The nostro's threshold when the alert was raised, in minor units")
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True, help_text="When the forecast recovered")
    acknowledged_by = models.CharField(max_length=200, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement = models.CharField(max_length=500, blank=True, help_text="The operator's reason")

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = "low-liquidity alert"
        constraints = [
            models.UniqueConstraint(fields=["nostro"], condition=Q(cleared_at__isnull=True),
                                    name="treasury_one_open_liquidity_alert_per_nostro"),
            models.CheckConstraint(condition=Q(forecast_balance__lt=models.F("threshold")),
                                   name="treasury_liquidity_alert_below_threshold"),
            models.CheckConstraint(condition=Q(acknowledged_at__isnull=True) | ~Q(acknowledged_by=""),
                                   name="treasury_liquidity_alert_acknowledged_by_someone"),
        ]

    def __str__(self) -> str:
        return f"{self.nostro_id}: {self.forecast_balance} < {self.threshold} on {self.forecast_date}"


class Position(NostroAccount):
    """The admin's "Positions" page (per currency and nostro, with the 7-day forecast) hangs on this
    proxy of the nostros, so the navigation and the roles' permissions (``view_position``) find it."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = "position"
