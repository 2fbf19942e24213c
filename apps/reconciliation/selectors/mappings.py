"""Reads of the saved CSV column mappings, as the CSV adapter takes them."""

from dataclasses import dataclass

from apps.reconciliation.adapters.csv_statement import CsvMapping
from apps.reconciliation.models import CsvStatementMapping
from apps.treasury.data import Nostro

_COLUMNS = ("booking_date", "amount", "debit", "credit", "currency_column", "value_date", "reference",
            "end_to_end_id", "bank_reference", "counterparty_name", "counterparty_account", "description",
            "statement_id", "opening_balance", "closing_balance")


@dataclass(frozen=True, slots=True)
class SavedCsvMapping:
    name: str
    nostro_code: str  # "" for a bank's mapping
    bank_bic: str  # "" for a nostro's own
    mapping: CsvMapping


def csv_mapping_names() -> list[str]:
    return list(CsvStatementMapping.objects.order_by("name").values_list("name", flat=True))


def csv_mapping(*, name: str) -> SavedCsvMapping | None:
    row = CsvStatementMapping.objects.filter(name=name).first()
    return saved_mapping(row) if row is not None else None


def csv_mapping_for_nostro(*, nostro: Nostro) -> SavedCsvMapping | None:
    """The nostro's own mapping, else its bank's (by the nostro's BIC, or the BIC's first 8
    characters: a branch code does not change how the bank writes its CSV)."""
    row = (CsvStatementMapping.objects.filter(nostro_id=nostro.code).first()
           or CsvStatementMapping.objects.filter(bank_bic__in={nostro.bic, nostro.bic[:8]})
           .order_by("-bank_bic").first())
    return saved_mapping(row) if row is not None else None


def saved_mapping(row: CsvStatementMapping) -> SavedCsvMapping:
    """The adapter's mapping of a row. ValueError for a row the adapter cannot use (a column index
    that is not a number, an unknown currency): the admin's form checks the same before saving."""
    columns: dict[str, str | int | None] = {}
    for attribute in _COLUMNS:
        text = getattr(row, attribute).strip()
        if not text:
            columns[attribute] = None
        elif row.columns_by_index:
            if not text.isdigit():
                raise ValueError(f"{attribute.replace('_', ' ')} column {text!r} is not a 0-based index")
            columns[attribute] = int(text)
        else:
            columns[attribute] = text
    mapping = CsvMapping(**columns, currency=row.currency, delimiter=row.delimiter, encoding=row.encoding,
                         header_rows=row.header_rows, date_format=row.date_format,
                         decimal_separator=row.decimal_separator, thousands_separator=row.thousands_separator)
    return SavedCsvMapping(name=row.name, nostro_code=row.nostro_id or "", bank_bic=row.bank_bic, mapping=mapping)
