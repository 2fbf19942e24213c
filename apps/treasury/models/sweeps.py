"""Sweeps: money fincore moves between two of its own nostros of one currency.

A treasury operator requests one; the maker-checker policy of ``treasury.sweep`` decides whether
a second person approves it. Executing it posts one ledger transfer (debit the receiving nostro,
credit the paying one) and stores the pain.001 that asks the paying bank to send the money.
The database holds the rules a row must keep whatever code writes it: a positive amount, two
different accounts, a file exactly when the sweep was sent.
"""

from auditlog.registry import auditlog
from django.db import models
from django.db.models import F, Q

from apps.core.ids import uuid7


class Sweep(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    currency = models.CharField(max_length=3)
    from_nostro = models.ForeignKey("treasury.NostroAccount", to_field="code", on_delete=models.PROTECT,
                                    related_name="sweeps_out", db_column="from_nostro",
                                    help_text="The account the money leaves (the file's debtor)")
    to_nostro = models.ForeignKey("treasury.NostroAccount", to_field="code", on_delete=models.PROTECT,
                                  related_name="sweeps_in", db_column="to_nostro",
                                  help_text="The account the money arrives at (the file's creditor)")
    amount = models.BigIntegerField(help_text="Minor units of the currency (1.250 BHD = 1250)")
    execution_date = models.DateField(help_text="The day the paying bank is asked to send it")
    end_to_end_id = models.CharField(max_length=35, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED,
                              help_text="Requested: waiting for a checker; sent: ledger posted and file written")
    requested_by = models.CharField(max_length=200)
    reason = models.TextField()
    approval_request = models.UUIDField(null=True, blank=True,
                                        help_text="The maker-checker request it was asked with")
    outcome = models.TextField(blank=True, help_text="Why it was rejected or cancelled")
    file = models.BinaryField(null=True, blank=True, editable=False, help_text="The pain.001 sent to the bank")
    file_sha256 = models.CharField("file SHA-256", max_length=64, blank=True)
    transfer_id = models.UUIDField(null=True, blank=True, help_text="The ledger transfer that moved it")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("request_sweep", "Can request a sweep between nostros")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="treasury_sweep_amount_positive"),
            models.CheckConstraint(condition=~Q(from_nostro=F("to_nostro")), name="treasury_sweep_two_accounts"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="treasury_sweep_currency"),
            models.CheckConstraint(condition=Q(end_to_end_id__regex=r"^[A-Z0-9]{1,35}$"),
                                   name="treasury_sweep_end_to_end_id_shape"),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "approved", "sent", "rejected", "cancelled"]),
                name="treasury_sweep_status_known"),
            # Sent exactly when its file, its digest, its transfer and its time are stored.
            models.CheckConstraint(
                condition=(Q(status="sent", file__isnull=False, transfer_id__isnull=False, sent_at__isnull=False)
                           & ~Q(file_sha256=""))
                | (~Q(status="sent") & Q(file__isnull=True, transfer_id__isnull=True, sent_at__isnull=True,
                                        file_sha256="")),
                name="treasury_sweep_sent_with_file"),
        ]

    def __str__(self) -> str:
        return f"{self.from_nostro_id} → {self.to_nostro_id} ({self.currency})"


auditlog.register(Sweep, exclude_fields=["file"])
