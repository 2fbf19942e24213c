"""Alerts and the cases they group into.

An alert is raised once per rule and event (``alert_once_per_rule_event``: evaluating a rule on an
event twice raises one alert). Alerts about the same subject group into its one open case
(``case_one_open_per_subject``); a case's severity is its highest alert's, and its due time the
SLA of that severity from when it was opened.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.compliance.cases.data import Severity, SubjectType
from apps.core.ids import uuid7

_SEVERITIES = [value for value, _ in Severity.CHOICES]
_SUBJECTS = [value for value, _ in SubjectType.CHOICES]


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
    rule = models.ForeignKey("compliance.MonitoringRule", on_delete=models.PROTECT, related_name="alerts")
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
