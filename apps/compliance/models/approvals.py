"""Maker-checker: requests for sensitive actions, their approvals, and the policies saying which
actions need a checker.

One pending request per action and target: a second identical one is refused by the database
(``approval_request_one_pending``), not by a check-then-insert.
"""

from django.conf import settings
from django.db import models

from apps.compliance.data import DEFAULT_APPROVALS_REQUIRED, DEFAULT_EXPIRY_HOURS
from apps.core.ids import uuid7


class ApprovalRequest(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending approval"
        EXECUTED = "executed", "Executed"
        FAILED = "failed", "Failed (the action was refused)"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    action = models.CharField(max_length=64, help_text="The registered sensitive action.")
    action_label = models.CharField(max_length=200)
    arguments = models.JSONField(help_text="The arguments the action's service is called with.")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the action and its arguments.")
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=100)
    target_label = models.CharField(max_length=255)
    merchant_id = models.UUIDField(null=True, blank=True)
    amount = models.BigIntegerField(null=True, blank=True, help_text="Minor units, for actions that move money.")
    currency = models.CharField(max_length=3, blank=True)
    reason = models.TextField(help_text="Why the maker asks for it.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    maker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approvals_required = models.PositiveSmallIntegerField(default=DEFAULT_APPROVALS_REQUIRED)
    version = models.PositiveIntegerField(default=1, help_text="Raised by each edit; an edit voids approvals.")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The checker who executed or rejected it.",
    )
    outcome = models.TextField(blank=True, help_text="The rejection's reason, or what the action's service said.")
    case = models.ForeignKey(
        "compliance.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="approval_requests",
        help_text="The case it was requested from, if any.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "fingerprint"], condition=models.Q(state="pending"),
                name="approval_request_one_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "executed", "failed", "rejected", "expired"]),
                name="approval_request_state_known",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__isnull=True, currency="")
                | models.Q(amount__gt=0, currency__regex=r"^[A-Z]{3}$"),
                name="approval_request_amount_with_currency",
            ),
            models.CheckConstraint(
                condition=models.Q(state="pending", decided_at__isnull=True)
                | (~models.Q(state="pending") & models.Q(decided_at__isnull=False)),
                name="approval_request_decided_unless_pending",
            ),
        ]
        indexes = [
            # The expiry sweep and the checkers' queue read pending requests only.
            models.Index(fields=["expires_at"], condition=models.Q(state="pending"), name="approval_request_pending"),
        ]
        permissions = [
            ("approve_approvalrequest", "Can approve or reject sensitive actions (checker)"),
            ("request_account_freeze", "Can request freezing or unfreezing a ledger account"),
            ("request_adjustment", "Can request a manual ledger adjustment"),
            ("request_merchant_status", "Can request suspending or reactivating a merchant"),
            ("request_api_key_revoke", "Can request revoking a merchant's API key"),
            ("request_connector_change", "Can request disabling or enabling a connector"),
            ("request_policy_change", "Can request a change of an approval policy"),
        ]

    def __str__(self) -> str:
        return f"{self.action_label}: {self.target_label}"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING


class Approval(models.Model):
    """A checker's approval of one version of a request; an edit of the request voids it."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.PROTECT, related_name="approvals")
    checker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(help_text="The request's version approved.")
    approved_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["request", "checker"], condition=models.Q(voided_at__isnull=True),
                name="approval_one_per_checker",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checker} approved v{self.version}"


class ApprovalPolicy(models.Model):
    """Whether an action needs a checker, above which amount (per currency), how many, and how
    long a request waits. Without a row: one checker, always, 72 hours."""

    action = models.CharField(max_length=64)
    currency = models.CharField(max_length=3, blank=True, help_text="Empty: any currency (or no amount).")
    requires_approval = models.BooleanField(default=True)
    threshold = models.BigIntegerField(
        null=True, blank=True,
        help_text="Minor units: requests of this amount or less are executed at once (journaled).",
    )
    approvals_required = models.PositiveSmallIntegerField(default=DEFAULT_APPROVALS_REQUIRED)
    expires_after_hours = models.PositiveIntegerField(default=DEFAULT_EXPIRY_HOURS)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=200)

    class Meta:
        verbose_name_plural = "approval policies"
        constraints = [
            models.UniqueConstraint(fields=["action", "currency"], name="approval_policy_one_per_action_currency"),
            models.CheckConstraint(condition=models.Q(threshold__isnull=True) | models.Q(threshold__gte=0),
                                   name="approval_policy_threshold_not_negative"),
            models.CheckConstraint(condition=models.Q(approvals_required__gte=1), name="approval_policy_one_checker"),
            models.CheckConstraint(condition=models.Q(expires_after_hours__gte=1), name="approval_policy_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.action} ({self.currency or 'any currency'})"

