"""Transaction monitoring: the rules officers keep, and what compliance knows of each merchant.

A rule is changed only through maker-checker (``compliance.monitoring_rule_set``): each change
raises its ``version``, and an alert records the version that raised it.
"""

from django.db import models
from django.db.models import Q

from apps.compliance.cases.data import Severity


class RiskTier(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class MerchantProfile(models.Model):
    """What compliance knows of a merchant: the name and country it screens, the risk tier
    officers gave it (customer due diligence), and when it was onboarded. Kept by the merchants
    app in the transaction of each change (``merchant_profile_sync``), so compliance, which sits
    below merchants, never reads their tables."""

    merchant_id = models.UUIDField(primary_key=True)
    legal_name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    risk_tier = models.CharField(max_length=8, choices=RiskTier.choices, default=RiskTier.MEDIUM)
    onboarded_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(risk_tier__in=["low", "medium", "high"]),
                                   name="merchant_profile_risk_tier_valid"),
            models.CheckConstraint(condition=Q(country__regex=r"^[A-Z]{2}$"), name="merchant_profile_country_iso"),
        ]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.get_risk_tier_display()} risk)"


class MonitoringRule(models.Model):
    class Kind(models.TextChoices):
        LARGE_AMOUNT = "large_amount", "Large amount"
        VELOCITY = "velocity", "Velocity"
        STRUCTURING = "structuring", "Structuring"
        HIGH_RISK_GEOGRAPHY = "high_risk_geography", "High-risk geography"
        FIRST_LARGE_AFTER_ONBOARDING = "first_large_after_onboarding", "First large amount after onboarding"
        ROUND_AMOUNT = "round_amount", "Round amounts"
        REFUND_ABUSE = "refund_abuse", "Refund abuse"
        SANCTIONS_HIT = "sanctions_hit", "Sanctions list match"

    class Action(models.TextChoices):
        ALERT = "alert", "Raise an alert"
        HOLD = "hold", "Hold for review (and raise an alert)"

    class Scope(models.TextChoices):
        ALL = "all", "All merchants"
        RISK_TIER = "risk_tier", "Merchants of one risk tier"
        MERCHANT = "merchant", "One merchant"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    description = models.TextField(blank=True)
    parameters = models.JSONField(
        default=dict, help_text="Per currency, the kind's parameters: {\"BHD\": {\"amount\": 10000000}}.")
    severity = models.CharField(max_length=8, choices=Severity.CHOICES)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.ALERT)
    hold_hours = models.PositiveIntegerField(
        default=24, help_text="A hold nobody reviews within this many hours is declined.")
    enabled = models.BooleanField(default=True)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.ALL)
    scope_risk_tier = models.CharField(max_length=8, choices=RiskTier.choices, blank=True)
    scope_merchant_id = models.UUIDField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=200, help_text="The maker, and the checker who approved the change.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=[
                "large_amount", "velocity", "structuring", "high_risk_geography", "first_large_after_onboarding",
                "round_amount", "refund_abuse", "sanctions_hit"]), name="monitoring_rule_kind_valid"),
            models.CheckConstraint(condition=Q(severity__in=["low", "medium", "high", "critical"]),
                                   name="monitoring_rule_severity_valid"),
            models.CheckConstraint(condition=Q(action__in=["alert", "hold"]), name="monitoring_rule_action_valid"),
            models.CheckConstraint(
                condition=Q(scope="all", scope_risk_tier="", scope_merchant_id__isnull=True)
                | Q(scope="risk_tier", scope_merchant_id__isnull=True) & ~Q(scope_risk_tier="")
                | Q(scope="merchant", scope_risk_tier="", scope_merchant_id__isnull=False),
                name="monitoring_rule_scope_consistent",
            ),
            models.CheckConstraint(condition=Q(hold_hours__gte=1), name="monitoring_rule_hold_hours"),
        ]
        permissions = [
            ("request_monitoring_rule_change", "Can request a change of a monitoring rule"),
            ("request_risk_tier_change", "Can request a change of a merchant's risk tier"),
        ]

    def __str__(self) -> str:
        return self.name
