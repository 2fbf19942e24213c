"""How a bank's CSV export reads: one saved column mapping per nostro (or per bank, by its BIC),
kept by treasury in the admin and turned into the adapter's
:class:`~apps.reconciliation.adapters.csv_statement.CsvMapping` by the selectors. The exclusive
choices (a signed amount or debit and credit columns; a fixed currency or a currency column; a
nostro or a bank) are database constraints."""

from auditlog.registry import auditlog
from django.db import models
from django.db.models import Q

from apps.core.ids import uuid7

DELIMITERS = ((",", "comma ,"), (";", "semicolon ;"), ("\t", "tab"), ("|", "vertical bar |"))
_COLUMN_HELP = "The header's name, or its 0-based index when the mapping reads columns by index. Empty: not given."


def _column(verbose_name: str, *, required: bool = False) -> models.CharField:
    return models.CharField(verbose_name, max_length=100, blank=not required, help_text=_COLUMN_HELP)


class CsvStatementMapping(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=100, unique=True)
    nostro = models.OneToOneField("treasury.NostroAccount", on_delete=models.PROTECT, to_field="code", null=True,
                                  blank=True, related_name="csv_mapping", db_column="nostro_code",
                                  help_text="The nostro whose statements read this way (its own mapping).")
    bank_bic = models.CharField("bank BIC", max_length=11, blank=True,
                                help_text="Or the bank: used for each of its nostros that has no mapping of its own.")
    columns_by_index = models.BooleanField(default=False,
                                           help_text="Columns are 0-based indexes (0 is the first), not header names.")
    booking_date = _column("booking date column", required=True)
    amount = _column("signed amount column")
    debit = _column("debit column")
    credit = _column("credit column")
    currency = models.CharField(max_length=3, blank=True,
                                help_text="The statement's currency, when no column gives it.")
    currency_column = _column("currency column")
    value_date = _column("value date column")
    reference = _column("reference column")
    end_to_end_id = _column("end-to-end id column")
    bank_reference = _column("bank reference column")
    counterparty_name = _column("counterparty name column")
    counterparty_account = _column("counterparty account column")
    description = _column("description column")
    statement_id = _column("statement id column")
    opening_balance = _column("opening balance column")
    closing_balance = _column("closing balance column")
    delimiter = models.CharField(max_length=1, default=",", choices=DELIMITERS)
    encoding = models.CharField(max_length=32, default="utf-8", help_text="utf-8, cp1252, iso-8859-1, ...")
    header_rows = models.PositiveSmallIntegerField(default=1, help_text="Rows before the first line; the last "
                                                   "of them names the columns.")
    date_format = models.CharField(max_length=32, default="%Y-%m-%d", help_text="strftime format: %d/%m/%Y, ...")
    decimal_separator = models.CharField(max_length=1, default=".")
    thousands_separator = models.CharField(max_length=1, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "CSV statement mapping"
        constraints = [
            models.CheckConstraint(
                condition=(Q(nostro__isnull=False) & Q(bank_bic="")) | (Q(nostro__isnull=True) & ~Q(bank_bic="")),
                name="reconciliation_csvmapping_nostro_or_bank"),
            models.UniqueConstraint(fields=["bank_bic"], condition=~Q(bank_bic=""),
                                    name="reconciliation_csvmapping_one_per_bank"),
            models.CheckConstraint(condition=Q(bank_bic="") | Q(bank_bic__regex=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$"),
                                   name="reconciliation_csvmapping_bic"),
            models.CheckConstraint(
                condition=(~Q(amount="") & Q(debit="") & Q(credit=""))
                | (Q(amount="") & ~Q(debit="") & ~Q(credit="")),
                name="reconciliation_csvmapping_amount_or_debit_credit"),
            models.CheckConstraint(
                condition=(Q(currency__regex=r"^[A-Z]{3}$") & Q(currency_column=""))
                | (Q(currency="") & ~Q(currency_column="")),
                name="reconciliation_csvmapping_currency_or_column"),
            models.CheckConstraint(condition=~Q(booking_date=""), name="reconciliation_csvmapping_booking_date"),
            models.CheckConstraint(condition=Q(decimal_separator__in=[".", ","]),
                                   name="reconciliation_csvmapping_decimal_separator"),
            models.CheckConstraint(condition=~Q(thousands_separator=models.F("decimal_separator")),
                                   name="reconciliation_csvmapping_separators_differ"),
            models.CheckConstraint(condition=Q(delimiter__in=[code for code, _ in DELIMITERS]),
                                   name="reconciliation_csvmapping_delimiter"),
        ]

    def __str__(self) -> str:
        return self.name


auditlog.register(CsvStatementMapping)
