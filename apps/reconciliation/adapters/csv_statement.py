"""A bank's CSV export read through its saved column mapping (:class:`CsvMapping`) into one
:class:`~apps.reconciliation.data.ParsedStatement`.

What it keeps:

* **Refused whole, naming the row.** A row whose date does not read in the mapping's format, whose
  amount is not a number or has more decimals than its currency, which has no amount (or both a
  debit and a credit), lacks a mapped column or is in another currency than the statement,
  refuses the file with that row's line (1-based, as an editor shows it) and the reason.
* **Exact minor units, signed from the holder's side.** A signed amount column is read as it is;
  separate debit and credit columns give money out (negative, whatever sign the bank printed) and
  money in. The decimal separator (and any thousands separator) is the mapping's; the digits go
  through :meth:`Money.from_major`, which never rounds.
* **Statement-level fields** come from the mapping and the caller (``account``), a statement id
  column when the bank gives one (its first row), else the file's SHA-256; optional opening and
  closing balance columns are read on the first and the last row.
"""

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime

from apps.core.currencies import UnknownCurrency, get_currency
from apps.core.money import Money, MoneyError
from apps.reconciliation.data import Balance, ParsedStatement, StatementFormat, StatementLine, StatementRefused

__all__ = ["Column", "CsvMapping", "csv_parse"]

Column = str | int  # a header's name, or a 0-based index


@dataclass(frozen=True, slots=True)
class CsvMapping:
    """How one bank's CSV reads. Columns are header names (looked up in the last of the
    ``header_rows``) or 0-based indexes; ``None`` for a column the bank does not give.

    Exactly one of ``amount`` (signed) or ``debit`` and ``credit`` (unsigned) is mapped; the
    currency is ``currency`` (fixed) or read from ``currency_column``."""

    booking_date: Column
    amount: Column | None = None
    debit: Column | None = None
    credit: Column | None = None
    currency: str = ""
    currency_column: Column | None = None
    value_date: Column | None = None
    reference: Column | None = None
    end_to_end_id: Column | None = None
    bank_reference: Column | None = None
    counterparty_name: Column | None = None
    counterparty_account: Column | None = None
    description: Column | None = None
    statement_id: Column | None = None
    opening_balance: Column | None = None
    closing_balance: Column | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    header_rows: int = 1
    date_format: str = "%Y-%m-%d"
    decimal_separator: str = "."
    thousands_separator: str = ""

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.debit is None and self.credit is None):
            raise ValueError("map either a signed amount column or debit and credit columns, not both or neither")
        if bool(self.currency) == (self.currency_column is not None):
            raise ValueError("give either a fixed currency or a currency column")
        if self.currency:
            get_currency(self.currency)
        if self.decimal_separator == self.thousands_separator:
            raise ValueError("the decimal and thousands separators must differ")
        if self.header_rows < 0:
            raise ValueError("header_rows cannot be negative")


def csv_parse(content: bytes, mapping: CsvMapping, *, account: str) -> list[ParsedStatement]:
    """The file as one statement of ``account``.

    Raises StatementRefused (with the line when there is one) for a file that is not entirely
    readable through ``mapping``; nothing of it is returned then.
    """
    try:
        text = content.decode(mapping.encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise StatementRefused(f"not {mapping.encoding} text", line=line) from None
    except LookupError:
        raise StatementRefused(f"unknown encoding {mapping.encoding!r}") from None

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=mapping.delimiter)
    header: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    last_line = 0
    try:
        for index, row in enumerate(reader):
            line, last_line = last_line + 1, reader.line_num  # a quoted cell may run over several lines
            if index < mapping.header_rows:
                header = row
                continue
            if any(cell.strip() for cell in row):
                rows.append((line, row))
    except csv.Error as error:
        raise StatementRefused(f"not CSV: {error}", line=reader.line_num) from None
    if not rows:
        raise StatementRefused("no statement rows in the file")

    columns = _Columns(mapping, header)
    lines = tuple(_statement_line(columns, mapping, line, row) for line, row in rows)
    currency = lines[0].currency
    for (line, _row), statement_line in zip(rows, lines, strict=True):
        if statement_line.currency != currency:
            raise StatementRefused(f"a row in {statement_line.currency} in a statement in {currency}", line=line)

    first_line, first_row = rows[0]
    last_line, last_row = rows[-1]
    statement_id = columns.text(first_row, "statement_id", first_line) if mapping.statement_id is not None else ""
    return [ParsedStatement(
        format=StatementFormat.CSV,
        version="",
        statement_id=statement_id or hashlib.sha256(content).hexdigest(),
        sequence="",
        account=account,
        currency=currency,
        opening_balance=_balance(columns, mapping, "opening_balance", first_line, first_row, currency,
                                 lines[0].booking_date),
        closing_balance=_balance(columns, mapping, "closing_balance", last_line, last_row, currency,
                                 lines[-1].booking_date),
        created_at=None,
        lines=lines,
    )]


class _Columns:
    """Where each mapped column is in a row, by name (from the header) or index."""

    def __init__(self, mapping: CsvMapping, header: list[str]) -> None:
        self.index: dict[str, int] = {}
        names = [name.strip() for name in header]
        for attribute in ("booking_date", "amount", "debit", "credit", "currency_column", "value_date", "reference",
                          "end_to_end_id", "bank_reference", "counterparty_name", "counterparty_account",
                          "description", "statement_id", "opening_balance", "closing_balance"):
            column = getattr(mapping, attribute)
            if column is None:
                continue
            if isinstance(column, int):
                self.index[attribute] = column
            elif column.strip() in names:
                self.index[attribute] = names.index(column.strip())
            else:
                raise StatementRefused(f"the header has no column {column!r} (mapped as {attribute})",
                                       line=mapping.header_rows or None)

    def text(self, row: list[str], attribute: str, line: int) -> str:
        index = self.index.get(attribute)
        if index is None:
            return ""
        if index >= len(row):
            raise StatementRefused(f"the row has {len(row)} columns, {attribute} is column {index + 1}", line=line)
        return row[index].strip()


def _statement_line(columns: _Columns, mapping: CsvMapping, line: int, row: list[str]) -> StatementLine:
    currency = mapping.currency or columns.text(row, "currency_column", line).upper()
    try:
        get_currency(currency)
    except UnknownCurrency:
        raise StatementRefused(f"{currency!r} is not an ISO 4217 currency", line=line) from None
    if mapping.amount is not None:
        text = columns.text(row, "amount", line)
        if not text:
            raise StatementRefused("the amount is empty", line=line)
        amount = _minor(mapping, text, currency, line)
    else:
        debit, credit = columns.text(row, "debit", line), columns.text(row, "credit", line)
        debit_amount = abs(_minor(mapping, debit, currency, line)) if debit else 0
        credit_amount = abs(_minor(mapping, credit, currency, line)) if credit else 0
        if debit_amount and credit_amount:
            raise StatementRefused("the row has both a debit and a credit", line=line)
        if not (debit or credit):
            raise StatementRefused("the row has neither a debit nor a credit", line=line)
        amount = credit_amount - debit_amount
    booking_date = _date(mapping, columns.text(row, "booking_date", line), line)
    value_text = columns.text(row, "value_date", line)
    return StatementLine(
        amount=amount,
        currency=currency,
        booking_date=booking_date,
        value_date=_date(mapping, value_text, line) if value_text else None,
        reference=columns.text(row, "reference", line),
        end_to_end_id=columns.text(row, "end_to_end_id", line),
        bank_reference=columns.text(row, "bank_reference", line),
        counterparty_name=columns.text(row, "counterparty_name", line),
        counterparty_account=columns.text(row, "counterparty_account", line),
        description=columns.text(row, "description", line),
    )


def _minor(mapping: CsvMapping, text: str, currency: str, line: int) -> int:
    number = text.replace(" ", "").replace("\u00a0", "")
    if mapping.thousands_separator:
        number = number.replace(mapping.thousands_separator, "")
    number = number.replace(mapping.decimal_separator, ".").removeprefix("+")
    try:
        return Money.from_major(number, currency).amount
    except MoneyError as error:
        raise StatementRefused(f"amount {text!r}: {error}", line=line) from None


def _date(mapping: CsvMapping, text: str, line: int) -> date:
    try:
        return datetime.strptime(text, mapping.date_format).date()
    except ValueError:
        raise StatementRefused(f"{text!r} is not a date in the format {mapping.date_format}", line=line) from None


def _balance(columns: _Columns, mapping: CsvMapping, attribute: str, line: int, row: list[str], currency: str,
             on: date) -> Balance | None:
    if getattr(mapping, attribute) is None:
        return None
    text = columns.text(row, attribute, line)
    if not text:
        raise StatementRefused(f"the {attribute.replace('_', ' ')} is empty", line=line)
    return Balance(amount=_minor(mapping, text, currency, line), currency=currency, on=on)
