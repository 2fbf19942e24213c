"""What fincore expects to see on its banks' statements, and which statement lines settled it.

An :class:`Expectation` is money fincore expects to move through one of its nostros (as Modern
Treasury calls it): a payout leaving, a connector's settlement arriving, a sweep, or an amount a
member of staff declared. Amounts are signed from fincore's side, as statement lines are: positive
is money in. A :class:`Match` ties one or more statement lines to one or more expectations; its
``MatchLine`` and ``MatchExpectation`` rows say how much of each it used, so an expectation settled
in parts is ``partially_reconciled`` until its whole amount is matched.
"""

from django.db import models
from django.db.models import Q

from apps.core.ids import uuid7


class ExpectationSource(models.TextChoices):
    PAYOUT = "payout", "Payout (money out)"
    CONNECTOR_SETTLEMENT = "connector_settlement", "Connector settlement (money in)"
    SWEEP = "sweep", "Sweep between nostros"
    STAFF = "staff", "Declared by staff"


class ExpectationState(models.TextChoices):
    UNRECONCILED = "unreconciled", "Unreconciled"
    PARTIALLY_RECONCILED = "partially_reconciled", "Partially reconciled"
    RECONCILED = "reconciled", "Reconciled"
    MISSING = "missing", "Missing (past its SLA)"


class Expectation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by recon_expect_open_idx, whose first column it is (no index, or LIKE index, of its own).
    nostro = models.ForeignKey("treasury.NostroAccount", on_delete=models.PROTECT, to_field="code",
                               related_name="expectations", db_column="nostro_code", db_index=False)
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Minor units, signed from fincore's side: positive is money in")
    expected_date = models.DateField(help_text="The booking date the bank should show")
    date_tolerance_days = models.PositiveSmallIntegerField(
        default=0, help_text="A line booked this many days either side still matches")
    amount_tolerance = models.BigIntegerField(
        default=0, help_text="Minor units either side a line's amount may differ by and still match")
    source = models.CharField(max_length=32, choices=ExpectationSource.choices)
    source_id = models.CharField(max_length=100, help_text="The payout's, settlement's or sweep's id; staff's own key")
    reference = models.CharField(max_length=140, blank=True, help_text="What the bank should print (remittance)")
    end_to_end_id = models.CharField(max_length=140, blank=True)
    counterparty_name = models.CharField(max_length=140, blank=True)
    group_key = models.CharField(max_length=140, blank=True,
                                 help_text="Expectations settled together by one line share it (a connector's batch)")
    state = models.CharField(max_length=32, choices=ExpectationState.choices, default=ExpectationState.UNRECONCILED)
    reconciled_amount = models.BigIntegerField(default=0, help_text="How much of the amount matched lines have settled")
    missing_after = models.DateTimeField(help_text="Still unreconciled at this instant, it is missing (its SLA)")
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-expected_date", "-created_at"]
        verbose_name = "expectation"
        permissions = [("declare_expectation", "Can declare an expected bank movement")]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="reconciliation_expectation_once"),
            models.CheckConstraint(condition=~Q(amount=0), name="reconciliation_expectation_amount_not_zero"),
            models.CheckConstraint(condition=Q(amount_tolerance__gte=0), name="reconciliation_expectation_tolerance"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"),
                                   name="reconciliation_expectation_currency"),
            # What is settled has the amount's sign and is never more than the amount (plus its
            # tolerance: a line within tolerance settles the whole).
            models.CheckConstraint(
                condition=(Q(amount__gt=0, reconciled_amount__gte=0)
                           | Q(amount__lt=0, reconciled_amount__lte=0)),
                name="reconciliation_expectation_reconciled_sign"),
        ]
        # No index on reference, end-to-end id or group key: matching compares them in hash joins
        # over its working tables, and the admin's search is a substring search no B-tree serves;
        # each index would only slow the matching run's UPDATE of every matched expectation.
        indexes = [
            models.Index(fields=["nostro", "state", "expected_date"], name="recon_expect_open_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.source_id}"


class Cardinality(models.TextChoices):
    ONE_TO_ONE = "one_to_one", "One line settles one expectation"
    ONE_TO_MANY = "one_to_many", "One line settles a group of expectations (by their group key)"
    MANY_TO_ONE = "many_to_one", "Several lines settle one expectation"


class MatchingRule(models.Model):
    """One way of recognising a statement line as what an expectation said. Rules run in ``priority``
    order (lowest first) on what earlier rules left. ``criteria`` is a list of one to five
    ``{"field": ..., "op": ..., "value": ...}`` (the matcher's catalogue says which fields and
    operators exist). Created and changed only through maker-checker; each change bumps ``version``."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=100, unique=True)
    priority = models.PositiveIntegerField(unique=True, help_text="Lower runs first")
    cardinality = models.CharField(max_length=16, choices=Cardinality.choices, default=Cardinality.ONE_TO_ONE)
    criteria = models.JSONField(help_text="One to five criteria, all of which must hold")
    enabled = models.BooleanField(default=False, help_text="A rule is tried first as a dry run, then enabled")
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField()
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["priority"]
        verbose_name = "matching rule"
        permissions = [("request_matchingrule_change", "Can request a matching rule change")]
        constraints = [
            models.CheckConstraint(condition=Q(version__gte=1), name="reconciliation_rule_version"),
        ]

    def __str__(self) -> str:
        return self.name


class MatchKind(models.TextChoices):
    RULE = "rule", "By a matching rule"
    MANUAL = "manual", "Linked by an operator"


class Match(models.Model):
    """Statement lines and expectations that settle each other. Never changed once written; an
    operator's wrong link is undone by unmatching (the match is deleted with its rows, journaled)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=16, choices=MatchKind.choices)
    rule = models.ForeignKey("reconciliation.MatchingRule", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="matches")
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200)
    reason = models.TextField(blank=True, help_text="An operator's reason for a manual link")

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "matches"
        constraints = [
            models.CheckConstraint(condition=Q(kind="manual") | Q(rule__isnull=False),
                                   name="reconciliation_match_rule_named"),
        ]

    def __str__(self) -> str:
        return str(self.id)


class MatchLine(models.Model):
    """A statement line a match used; a line is in one match at most."""

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="lines")
    line = models.OneToOneField("reconciliation.BankStatementLine", on_delete=models.PROTECT, related_name="match_line")

    class Meta:
        verbose_name = "matched statement line"

    def __str__(self) -> str:
        return f"{self.match_id} {self.line_id}"


class MatchExpectation(models.Model):
    """An expectation a match settled, and how much of it (signed like the expectation)."""

    # Indexed by the unique (match, expectation) below, whose first column it is.
    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="expectations", db_index=False)
    expectation = models.ForeignKey(Expectation, on_delete=models.PROTECT, related_name="match_rows")
    amount = models.BigIntegerField()
    transfer_id = models.UUIDField(null=True, blank=True,
                                   help_text="The ledger posting made for it (a connector settlement's arrival)")

    class Meta:
        verbose_name = "matched expectation"
        constraints = [
            models.UniqueConstraint(fields=["match", "expectation"], name="reconciliation_match_expectation_once"),
            models.CheckConstraint(condition=~Q(amount=0), name="reconciliation_match_expectation_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.match_id} {self.expectation_id} {self.amount}"
