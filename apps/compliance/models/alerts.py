"""Monitoring's rules, what compliance knows of each merchant, and the alerts and cases the rules raise.

A rule is changed only through maker-checker: each change raises its ``version``, and an alert
records the version that raised it. An alert is raised once per rule and event
(``alert_once_per_rule_event``: evaluating a rule on an event twice raises one alert). Alerts about
the same subject group into its one open case (``case_one_open_per_subject``); a case's severity is
its highest alert's, and its due time the SLA of that severity from when it was opened.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.compliance.data import Severity, SubjectType
from apps.core.ids import uuid7

_SEVERITIES = [value for value, _ in Severity.CHOICES]
_SUBJECTS = [value for value, _ in SubjectType.CHOICES]


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


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        INVESTIGATING = "investigating", "Investigating"
        ESCALATED = "escalated", "Escalated"
        CLOSED = "closed", "Closed"

    class Disposition(models.TextChoices):
        FALSE_POSITIVE = "false_positive", "False positive"
        NO_FURTHER_ACTION = "no_further_action", "No further action"
        CUSTOMER_CONTACTED = "customer_contacted", "Customer contacted"
        ACCOUNT_FROZEN = "account_frozen", "Account frozen"
        STR_FILED = "str_filed", "STR filed"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    subject_type = models.CharField(max_length=16, choices=SubjectType.CHOICES)
    subject_id = models.CharField(max_length=100)
    subject_label = models.CharField(max_length=255)
    merchant_id = models.UUIDField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    severity = models.CharField(max_length=8, choices=Severity.CHOICES)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField(help_text="Overdue after this: its severity's service level from opening.")
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    disposition = models.CharField(max_length=24, choices=Disposition.choices, blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id"], condition=~Q(status="closed"),
                                    name="case_one_open_per_subject"),
            models.CheckConstraint(condition=Q(status__in=["open", "investigating", "escalated", "closed"]),
                                   name="case_status_valid"),
            models.CheckConstraint(condition=Q(severity__in=_SEVERITIES), name="case_severity_valid"),
            models.CheckConstraint(condition=Q(subject_type__in=_SUBJECTS), name="case_subject_type_valid"),
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False, closed_by__isnull=False) & ~Q(disposition="")
                | ~Q(status="closed") & Q(closed_at__isnull=True, closed_by__isnull=True, disposition=""),
                name="case_closed_with_disposition",
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=~Q(status="closed"), name="case_open_due"),
            models.Index(fields=["merchant_id", "opened_at"], name="case_merchant"),
        ]
        permissions = [
            ("work_case", "Can work cases: assign, note, attach, change status, release or decline holds"),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} case on {self.subject_label}"


class Alert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed (with its case)"

    class HoldState(models.TextChoices):
        NONE = "", "No hold"
        HELD = "held", "Held for review"
        RELEASED = "released", "Released"
        DECLINED = "declined", "Declined"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    rule = models.ForeignKey(MonitoringRule, on_delete=models.PROTECT, related_name="alerts")
    rule_version = models.PositiveIntegerField()
    event_key = models.CharField(max_length=200, help_text="The event it was raised on: one alert per rule and event.")
    subject_type = models.CharField(max_length=16, choices=SubjectType.CHOICES)
    subject_id = models.CharField(max_length=100)
    subject_label = models.CharField(max_length=255)
    merchant_id = models.UUIDField(null=True, blank=True)
    livemode = models.BooleanField()
    severity = models.CharField(max_length=8, choices=Severity.CHOICES)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    evidence = models.JSONField(help_text="The events and figures that triggered it.")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="alerts")
    created_at = models.DateTimeField()
    hold_object_type = models.CharField(max_length=32, blank=True)
    hold_object_id = models.CharField(max_length=100, blank=True)
    hold_state = models.CharField(max_length=8, choices=HoldState.choices, blank=True, default=HoldState.NONE)
    hold_due_at = models.DateTimeField(null=True, blank=True)
    hold_decided_at = models.DateTimeField(null=True, blank=True)
    hold_decided_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "event_key"], name="alert_once_per_rule_event"),
            models.CheckConstraint(condition=Q(status__in=["open", "closed"]), name="alert_status_valid"),
            models.CheckConstraint(condition=Q(severity__in=_SEVERITIES), name="alert_severity_valid"),
            models.CheckConstraint(condition=Q(subject_type__in=_SUBJECTS), name="alert_subject_type_valid"),
            models.CheckConstraint(
                condition=Q(hold_state="", hold_object_type="", hold_object_id="", hold_due_at__isnull=True,
                            hold_decided_at__isnull=True)
                | Q(hold_state="held", hold_due_at__isnull=False, hold_decided_at__isnull=True)
                & ~Q(hold_object_type="") & ~Q(hold_object_id="")
                | Q(hold_state__in=["released", "declined"], hold_due_at__isnull=False,
                    hold_decided_at__isnull=False) & ~Q(hold_object_type="") & ~Q(hold_object_id="")
                & ~Q(hold_decided_by=""),
                name="alert_hold_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["hold_due_at"], condition=Q(hold_state="held"), name="alert_hold_due"),
            models.Index(fields=["merchant_id", "created_at"], name="alert_merchant"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.name}: {self.subject_label}"
