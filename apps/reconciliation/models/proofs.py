"""The books proven against the bank: after a statement, the nostro's ledger balance as of the
statement's end compared with the closing balance the bank printed.

One row per proof run (not per statement): re-proving after breaks were adjusted records a new
row, and the history shows when the books and the bank came to agree. A statement's standing is
its newest proof.
"""

from django.db import models
from django.db.models import F, Q

from apps.core.ids import uuid7


class ProofStatus(models.TextChoices):
    AGREED = "agreed", "Agreed"
    DIFFERS = "differs", "Differs"


class BalanceProof(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    statement = models.ForeignKey("reconciliation.BankStatement", on_delete=models.PROTECT,
                                  related_name="balance_proofs")
    nostro = models.ForeignKey("treasury.NostroAccount", on_delete=models.PROTECT, to_field="code",
                               related_name="balance_proofs", db_column="nostro_code")
    currency = models.CharField(max_length=3)
    as_of = models.DateTimeField(help_text="The statement's end: the last instant of its closing date in Bahrain")
    ledger_balance = models.BigIntegerField(help_text="The nostro in the ledger at as_of (debits - credits)")
    statement_balance = models.BigIntegerField(help_text="The statement's closing balance")
    difference = models.BigIntegerField(help_text="Ledger - statement")
    status = models.CharField(max_length=16, choices=ProofStatus.choices)
    proved_at = models.DateTimeField()
    proved_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["-proved_at"]
        verbose_name = "balance proof"
        constraints = [
            models.CheckConstraint(condition=Q(difference=F("ledger_balance") - F("statement_balance")),
                                   name="reconciliation_proof_difference"),
            models.CheckConstraint(condition=(Q(status="agreed", difference=0)
                                              | (Q(status="differs") & ~Q(difference=0))),
                                   name="reconciliation_proof_status"),
        ]
        indexes = [
            models.Index(fields=["statement", "-proved_at"], name="recon_proof_statement_idx"),
            models.Index(fields=["nostro", "status", "-as_of"], name="recon_proof_nostro_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.statement} {self.get_status_display()}"
