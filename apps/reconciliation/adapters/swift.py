"""SWIFT MT940 (customer statement) and MT942 (interim transaction report) read into
:class:`~apps.reconciliation.data.ParsedStatement`, one per statement of the file, with the
maintained ``mt-940`` package doing the field parsing.

What it keeps:

* **Refused whole, with the line and the reason.** Nothing is returned from a file with one bad
  statement: no statement at all, a statement without a :20: reference or a :25: account, an
  MT940 without its opening (:60F:/:60M:) or closing (:62F:/:62M:) balance, an MT942 without its
  :34F: floor limit (which carries its currency), a field the package cannot parse (a date that
  does not exist, an amount that is not a number), a currency that is not ISO 4217 (the Deutsche
  Mark included), balances in two currencies, and an amount with more decimals than its
  currency has (``12,5001`` BHD). The package reports none of this with a line, so the file is
  cut into fields here, each field remembering where it started, and fed to the package one
  field at a time through its public ``Transactions.parse``.
* **Exact minor units, signed from the holder's side.** The package's ``Decimal`` goes through
  :meth:`Money.from_major`, which never rounds. ``C`` and ``RD`` (reversal of a debit) are money
  in, ``D`` and ``RC`` (reversal of a credit) money out: ``Options(reversal_sign=True)``.
* **Which message.** ``{2:O942...}`` in the SWIFT header, or a :34F: floor limit (mandatory in
  an MT942, absent from an MT940), makes an MT942: no balances, created at its :13D:.
* **A line's words.** ``bank_reference`` is the :61: bank reference (after ``//``);
  ``reference`` the remittance information when the :86: is structured (``?20`` to ``?29``, or
  ``/REMI/``), else the :61: customer reference unless ``NONREF``; ``end_to_end_id`` the
  ``EREF``; the counterparty from ``?32``/``?33`` and ``?31``, ``/NAME/`` and ``/IBAN/``,
  ``/CNTP/``, or (ASN Bank, Rabobank) the IBAN the bank put in the :61: itself;
  ``description`` the :86: as the bank wrote it.
* **An :86: after the closing balance** is information for the statement as a whole (ING's
  totals), not for the last line: it is not read into that line.
* **Encoding.** UTF-8, else Latin-1 (which reads any byte).
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

import mt940
from mt940.models import Transactions
from mt940.tags import TAG_BY_ID, StatementASNB

from apps.core.currencies import UnknownCurrency, get_currency
from apps.core.money import Money, MoneyError
from apps.reconciliation.data import Balance, ParsedStatement, StatementFormat, StatementLine, StatementRefused

__all__ = ["mt940_parse"]

BAHRAIN = ZoneInfo("Asia/Bahrain")

# Every fix the package has behind an option: RC signed as the debit it is, ?31 kept as the
# counterparty's account, a :61: customer reference not wiped by an :86: without KREF, :86: of
# any length, :13D: offsets read as hours and minutes, a byte-order mark dropped.
_OPTIONS = mt940.Options.all()

# A field starts a line with :NN: or :NNa: (the package's own tag syntax).
_FIELD_RE = re.compile(r":(?P<full>(?P<number>[0-9]{2}|NS)(?P<letter>[A-Z])?):(?P<value>.*)")
_HEADER_BANK_RE = re.compile(r"\{1:F01(?P<bic>[A-Z]{4})")
_HEADER_TYPE_RE = re.compile(r"\{2:[IO](?P<type>9[0-9]{2})")
# Fields that run on over several lines; the others are one line, and what follows them up to
# the next field is the SWIFT envelope or a bank's header between statements.
_MULTILINE = {"61", "86", "NS"}
# Banks that put more in a :61: than SWIFT's 16-character customer reference, by the first four
# letters of the BIC in the {1:} header: the package has a tag for each.
_STATEMENT_LINE_BY_BANK = {"ASNB": StatementASNB()}

_IBAN_RE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}")
# The SWIFT :86: codes (/CODE/value) Dutch and other banks use in place of ?NN subfields.
_SLASH_CODES = (
    "EREF", "KREF", "MARF", "PREF", "BENM", "ORDP", "NAME", "ADDR", "IBAN", "BIC", "REMI", "CSID", "ISDT",
    "RTRN", "CNTP", "PURP", "ULTC", "ULTD", "ULTB", "TRTP", "SVCL", "EXCH", "OCMT", "CHGS", "RTYP", "ATOS",
)
_SLASH_CODE_RE = re.compile(r"/(" + "|".join(_SLASH_CODES) + r")/")
_NOT_PROVIDED = {"", "NONREF", "NOTPROVIDED"}


@dataclass
class _Field:
    tag: str  # "61", "60F", "28C"
    line: int
    lines: list[str]

    @property
    def number(self) -> str:
        return self.tag[:2]

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class _Block:
    line: int  # where its :20: is
    bank: str  # the {1:} header's BIC prefix, "" without a SWIFT envelope
    message_type: str  # "940", "942", or "" without a {2:} header
    fields: list[_Field] = field(default_factory=list)


def mt940_parse(content: bytes, *, local_zone: tzinfo = BAHRAIN) -> list[ParsedStatement]:
    """Every statement of an MT940 or MT942 file, in the file's order.

    A :13D: date-time without an offset is the bank's local time (``local_zone``).

    Raises StatementRefused (with the line when there is one) for a file that is not entirely
    readable; nothing of it is returned then.
    """
    text = _decode(content)
    blocks = _blocks(text)
    if not blocks:
        raise StatementRefused("no MT940 or MT942 statement found (no :20: field)")
    return [_statement(block, local_zone) for block in blocks]


def _decode(content: bytes) -> str:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    return text.removeprefix("\ufeff")


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    bank = message_type = ""
    current: _Field | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith(("{", "-")):  # the SWIFT envelope: {1:...}{2:...}{4: and -}
            if header := _HEADER_BANK_RE.search(line):
                bank = header["bic"]
            if header := _HEADER_TYPE_RE.search(line):
                message_type = header["type"]
            current = None
            continue
        match = _FIELD_RE.match(line)
        if match and _is_field(match["number"]):
            tag = match["full"]
            if tag == "20":
                blocks.append(_Block(line=number, bank=bank, message_type=message_type))
            elif not blocks:
                raise StatementRefused(f"field :{tag}: comes before any :20: transaction reference", line=number)
            current = _Field(tag=tag, line=number, lines=[match["value"]])
            blocks[-1].fields.append(current)
        elif current is not None and current.number in _MULTILINE:
            current.lines.append(line)
        else:
            current = None  # a bank's own header line between statements ("940", "ABNANL2A")
    return blocks


def _is_field(number: str) -> bool:
    return (int(number) if number.isdigit() else number) in TAG_BY_ID


def _statement(block: _Block, local_zone: tzinfo) -> ParsedStatement:
    tags = {61: _STATEMENT_LINE_BY_BANK[block.bank]} if block.bank in _STATEMENT_LINE_BY_BANK else None
    transactions = Transactions(tags=tags, options=_OPTIONS)
    line_of: dict[str, int] = {}  # the first line of each statement-level field
    lines_at: list[int] = []  # the :61: line of each transaction
    details: list[list[str]] = []  # the :86: text of each transaction
    previous = ""
    for statement_field in block.fields:
        if statement_field.number == "86" and previous not in ("61", "86"):
            previous = statement_field.number
            continue  # information for the statement as a whole (see the module's docstring)
        try:
            transactions.parse(f":{statement_field.tag}:{statement_field.text()}")
        except (RuntimeError, ValueError, ArithmeticError) as error:
            raise StatementRefused(_unreadable(statement_field, error), line=statement_field.line) from None
        if statement_field.number == "61":
            lines_at.append(statement_field.line)
            details.append([])
        elif statement_field.number == "86":
            details[-1].extend(statement_field.lines)
        else:
            line_of.setdefault(statement_field.number if statement_field.number in ("60", "62") else
                               statement_field.tag, statement_field.line)
        previous = statement_field.number

    data = transactions.data
    statement_id = (data.get("transaction_reference") or "").strip()
    if not statement_id:
        raise StatementRefused("the :20: transaction reference is empty", line=block.line)
    account = (data.get("account_identification") or "").strip()
    if not account:
        raise StatementRefused(f"statement {statement_id!r} has no :25: account identification", line=block.line)
    sequence = data.get("statement_number") or ""
    if data.get("sequence_number"):
        sequence = f"{sequence}/{data['sequence_number']}"

    is_mt942 = block.message_type == "942" or "34F" in line_of
    if is_mt942:
        floor_limit = data.get("d_floor_limit") or data.get("c_floor_limit")
        if floor_limit is None:
            raise StatementRefused(f"MT942 {statement_id!r} has no :34F: floor limit", line=block.line)
        currency = _currency(floor_limit.currency, line_of["34F"])
        opening = closing = None
    else:
        opening_balance = _first(data, "final_opening_balance", "intermediate_opening_balance", "opening_balance")
        closing_balance = _first(data, "final_closing_balance", "intermediate_closing_balance", "closing_balance")
        if opening_balance is None:
            raise StatementRefused(f"statement {statement_id!r} has no opening balance (:60F: or :60M:)",
                                   line=block.line)
        if closing_balance is None:
            raise StatementRefused(f"statement {statement_id!r} has no closing balance (:62F: or :62M:)",
                                   line=block.line)
        currency = _currency(opening_balance.amount.currency, line_of["60"])
        opening = _balance(opening_balance, currency, line_of["60"])
        closing = _balance(closing_balance, currency, line_of["62"])

    statement_lines = tuple(
        _statement_line(transaction.data, details[index], currency, lines_at[index])
        for index, transaction in enumerate(transactions)
    )
    return ParsedStatement(
        format=StatementFormat.MT942 if is_mt942 else StatementFormat.MT940,
        version="",
        statement_id=statement_id,
        sequence=sequence,
        account=account,
        currency=currency,
        opening_balance=opening,
        closing_balance=closing,
        created_at=_created_at(data.get("date"), local_zone),
        lines=statement_lines,
    )


def _unreadable(statement_field: _Field, error: Exception) -> str:
    first_line = statement_field.lines[0][:60]
    if isinstance(error, RuntimeError):
        return f"field :{statement_field.tag}: is not in the SWIFT format: {first_line!r}"
    if isinstance(error, ArithmeticError):
        return f"field :{statement_field.tag}: has an amount that is not a number: {first_line!r}"
    return f"field :{statement_field.tag}: cannot be read ({error}): {first_line!r}"


def _first(data: dict, *keys: str):
    return next((data[key] for key in keys if data.get(key) is not None), None)


def _currency(code: str | None, line: int) -> str:
    try:
        return get_currency(code).code
    except UnknownCurrency:
        raise StatementRefused(f"{code!r} is not an ISO 4217 currency", line=line) from None


def _minor(amount: Decimal, currency: str, line: int) -> int:
    try:
        return Money.from_major(format(amount, "f"), currency).amount
    except MoneyError as error:
        raise StatementRefused(f"amount {format(abs(amount), 'f')}: {error}", line=line) from None


def _balance(balance, currency: str, line: int) -> Balance:
    if balance.amount.currency != currency:
        raise StatementRefused(f"a balance in {balance.amount.currency} in a statement in {currency}", line=line)
    return Balance(amount=_minor(balance.amount.amount, currency, line), currency=currency, on=_date(balance.date))


def _date(value: date) -> date:
    return date(value.year, value.month, value.day)  # the package's Date subclass, as a plain date


def _created_at(value: datetime | None, local_zone: tzinfo) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    offset = value.utcoffset()
    zone = timezone(offset) if offset is not None else local_zone
    if offset == timedelta(0):
        zone = UTC
    return datetime(value.year, value.month, value.day, value.hour, value.minute, tzinfo=zone)


def _statement_line(data: dict, details: list[str], currency: str, line: int) -> StatementLine:
    amount = data["amount"]
    if amount.currency != currency:  # the package gives a :61: its statement's currency
        raise StatementRefused(f"a line in {amount.currency} in a statement in {currency}", line=line)
    value_date = _date(data["date"])
    entry_date = data.get("entry_date")
    customer_reference = (data.get("customer_reference") or "").strip()
    supplementary = (data.get("extra_details") or "").strip()
    reference = end_to_end_id = name = counterparty_account = ""

    if "transaction_code" in data:  # a structured :86: (?00 posting text, ?20-?29 purpose, ...)
        reference = (data.get("purpose") or "").strip()
        end_to_end_id = (data.get("end_to_end_reference") or "").strip()
        name = (data.get("applicant_name") or "").strip()
        counterparty_account = (data.get("applicant_iban") or data.get("gvc_applicant_iban") or "").strip()
    elif codes := _slash_codes("".join(details)):  # SWIFT hard-wraps at 65 characters: join as is
        reference = codes.get("REMI", "")
        end_to_end_id = codes.get("EREF", "")
        name = codes.get("NAME", "")
        counterparty_account = codes.get("IBAN", "")
        if "CNTP" in codes:  # ING: /CNTP/account/BIC/name/city/
            parts = [*codes["CNTP"].split("/"), "", "", ""]
            counterparty_account, name = counterparty_account or parts[0], name or parts[2]
        if customer_reference.upper() in _SLASH_CODES:
            customer_reference = ""  # Rabobank's "EREF": the reference is in the :86:
    if end_to_end_id.upper() in _NOT_PROVIDED:
        end_to_end_id = ""
    if not counterparty_account and _IBAN_RE.fullmatch(supplementary):
        counterparty_account = supplementary  # Rabobank: the counterparty's IBAN on the :61:'s second line
    elif not counterparty_account and _IBAN_RE.fullmatch(customer_reference):
        counterparty_account, customer_reference = customer_reference, ""  # ASN Bank: IBAN, then name
        name = name or supplementary
    if not reference and customer_reference.upper() not in _NOT_PROVIDED:
        reference = customer_reference

    return StatementLine(
        amount=_minor(amount.amount, currency, line),
        currency=currency,
        booking_date=_date(entry_date) if entry_date else value_date,
        value_date=value_date,
        reference=reference,
        end_to_end_id=end_to_end_id,
        bank_reference=(data.get("bank_reference") or "").strip(),
        counterparty_name=name,
        counterparty_account=counterparty_account,
        description="\n".join(details).strip(),
    )


def _slash_codes(text: str) -> dict[str, str]:
    """``/EREF/x/NAME/y/`` as ``{"EREF": "x", "NAME": "y"}``; empty unless the text starts with a code."""
    matches = list(_SLASH_CODE_RE.finditer(text))
    if not matches or matches[0].start() != 0:
        return {}
    codes: dict[str, str] = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        codes.setdefault(match[1], text[match.end():end].strip().removesuffix("/").strip())
    return codes
