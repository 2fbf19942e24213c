"""Bank statements as imported: each statement of a file, the file as received, and its booked
lines. Append-only (a trigger refuses UPDATE and DELETE): a statement is the bank's word, and
matching and breaks will point at it."""

from django.db import models
from django.db.models import Q

from apps.core.ids import uuid7
from apps.reconciliation.data import StatementFormat


class BankStatement(models.Model):
    """One statement of an imported file. A file holding several statements stores one row per
    statement, each with the whole file (``content``) and its SHA-256, told apart by ``file_index``
    (its order in the file): the same file can never be stored twice."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    nostro = models.ForeignKey("treasury.NostroAccount", on_delete=models.PROTECT, to_field="code",
                               related_name="statements", db_column="nostro_code")
    format = models.CharField(max_length=16, choices=StatementFormat.CHOICES)
    version = models.CharField(max_length=16, blank=True)
    statement_id = models.CharField(max_length=140, help_text="The bank's id (camt Stmt/Id, MT940 :20:)")
    sequence = models.CharField(max_length=35, blank=True,
                                help_text="The bank's sequence number (camt ElctrncSeqNb, MT940 :28C:)")
    account = models.CharField(max_length=70, help_text="The account as the bank named it")
    currency = models.CharField(max_length=3)
    opening_balance = models.BigIntegerField(null=True, blank=True)
    opening_date = models.DateField(null=True, blank=True)
    closing_balance = models.BigIntegerField(null=True, blank=True)
    closing_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="When the bank created it (from the file)")
    file_name = models.CharField(max_length=255)
    file_index = models.PositiveIntegerField(default=0, help_text="Its place in the file, from 0")
    sha256 = models.CharField("SHA-256", max_length=64)
    content = models.BinaryField(help_text="The file as received")
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-imported_at", "file_index"]
        verbose_name = "bank statement"
        permissions = [("import_bankstatement", "Can import a bank statement")]
        constraints = [
            models.UniqueConstraint(fields=["nostro", "statement_id", "sequence"],
                                    name="reconciliation_statement_once"),
            models.UniqueConstraint(fields=["sha256", "file_index"], name="reconciliation_statement_file_once"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"),
                                   name="reconciliation_statement_currency"),
        ]

    def __str__(self) -> str:
        return f"{self.statement_id} {self.sequence}".strip()


class BankStatementLine(models.Model):
    """One booked movement: ``amount`` in signed minor units, positive money in."""

    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    booking_date = models.DateField()
    value_date = models.DateField(null=True, blank=True)
    reference = models.TextField(blank=True)
    end_to_end_id = models.CharField(max_length=140, blank=True)
    bank_reference = models.CharField(max_length=140, blank=True)
    counterparty_name = models.TextField(blank=True)
    counterparty_account = models.CharField(max_length=140, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["statement", "position"]
        verbose_name = "bank statement line"
        constraints = [
            models.UniqueConstraint(fields=["statement", "position"], name="reconciliation_line_position"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="reconciliation_line_currency"),
            models.CheckConstraint(condition=~Q(amount=0), name="reconciliation_line_amount_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.statement} #{self.position}"
