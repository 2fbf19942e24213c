"""Breaks: what reconciliation could not explain, in an exception queue people work through.

A statement line no rule matched, and an expectation no line settled by its SLA, each become one
:class:`Break`. An operator assigns it, comments on it, and resolves it by linking it by hand, by
ignoring it with a reason, or by an adjusting transfer to or from suspense (maker-checker). Every
step is journaled; a resolved break stays, with who resolved it, how and why.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.ids import uuid7
from apps.core.money import Money


class BreakKind(models.TextChoices):
    UNMATCHED_LINE = "unmatched_line", "Statement line nothing expected"
    MISSING_EXPECTATION = "missing_expectation", "Expected movement the bank did not show"


class BreakStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class BreakResolution(models.TextChoices):
    LINKED = "linked", "Linked by hand"
    IGNORED = "ignored", "Ignored, with a reason"
    ADJUSTED = "adjusted", "Adjusting transfer to or from suspense"
    MATCHED = "matched", "Matched later (by a rule)"


class Break(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=32, choices=BreakKind.choices)
    nostro = models.ForeignKey("treasury.NostroAccount", on_delete=models.PROTECT, to_field="code",
                               related_name="breaks", db_column="nostro_code")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Minor units, signed from fincore's side: positive is money in")
    line = models.OneToOneField("reconciliation.BankStatementLine", null=True, blank=True,
                                on_delete=models.PROTECT, related_name="break_record")
    expectation = models.OneToOneField("reconciliation.Expectation", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="break_record")
    status = models.CharField(max_length=16, choices=BreakStatus.choices, default=BreakStatus.OPEN)
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="reconciliation_breaks")
    opened_at = models.DateTimeField()
    resolution = models.CharField(max_length=16, choices=BreakResolution.choices, blank=True)
    resolution_reason = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    adjustment_transfer_id = models.UUIDField(null=True, blank=True,
                                              help_text="The ledger transfer that cleared it through suspense")

    class Meta:
        ordering = ["status", "-opened_at"]
        verbose_name = "break"
        permissions = [("work_break", "Can assign, comment on and resolve breaks")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="unmatched_line", line__isnull=False, expectation__isnull=True)
                           | Q(kind="missing_expectation", expectation__isnull=False, line__isnull=True)),
                name="reconciliation_break_subject"),
            models.CheckConstraint(
                condition=(Q(status="open", resolution="", resolved_at__isnull=True)
                           | (Q(status="resolved", resolved_at__isnull=False) & ~Q(resolution=""))),
                name="reconciliation_break_resolution"),
            models.CheckConstraint(condition=~Q(amount=0), name="reconciliation_break_amount_not_zero"),
        ]
        indexes = [models.Index(fields=["status", "nostro", "opened_at"], name="recon_break_queue_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {Money(self.amount, self.currency).format()}"


class BreakComment(models.Model):
    """An operator's note on a break; never edited."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    break_record = models.ForeignKey(Break, on_delete=models.PROTECT, related_name="comments")
    author = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at"]
        verbose_name = "break comment"

    def __str__(self) -> str:
        return f"{self.author} {self.created_at:%Y-%m-%d %H:%M}"
