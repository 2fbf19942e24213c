"""ISO 20022 bank statements as reconciliation reads them: camt.053 (bank to customer statement)
and camt.054 (bank to customer debit/credit notification), versions 001.02 to 001.08.

:func:`camt_parse` returns one :class:`~apps.reconciliation.data.ParsedStatement` per ``Stmt``
(053) or ``Ntfctn`` (054), or refuses the whole file with
:class:`~apps.reconciliation.data.StatementRefused`, naming the line and the reason.

**Validated against the official XSD first.** The ISO 20022 schemas of camt.053.001.02 to .08 and
camt.054.001.02 to .08 ship unmodified in ``xsd/`` (``xsd/README.md`` says where each came from). A
file is checked in this order: well-formed XML without a DOCTYPE; a ``Document`` in a
camt.053/054 namespace of a version read here; valid against that version's schema (compiled once
per process and version, with lxml; the file's ``xsi:schemaLocation`` is ignored and nothing is
fetched), the first violation refusing the file with its line and the schema's reason. The reading
then still checks what the schema cannot: amounts exact in their currency's exponent, ISO 4217
codes, dates, and that a camt.053 statement has balances.

How a file is read:

- **Amounts** are exact: the text is a plain decimal (no sign, no exponent) in the currency of its
  ``Ccy``, turned into minor units by :meth:`Money.from_major`, never rounded. Trailing zeros past
  the currency's exponent are dropped (``8.850`` EUR is 885 cents: the schema allows five
  fraction digits and banks pad); any other digit past it is refused. Signs come from
  ``CdtDbtInd``: CRDT positive, DBIT negative (the holder's side).
- **Balances**: opening is ``OPBD``, else ``PRCD``; closing is ``CLBD``, else ``CLAV``; each in its
  own ``Ccy``, dated by its ``Dt/Dt`` (or the date of ``Dt/DtTm``).
- **Entries**: only booked ones (``Sts`` ``BOOK``; ``Sts/Cd`` ``BOOK`` from 001.08); pending and
  information entries are skipped. An entry with one transaction detail is one line of the
  entry's amount, with the detail's references and parties. An entry with several details
  (a batch) is one line per detail, each with its own amount, when every detail has an amount in
  the entry's currency and their signed sum is the entry's amount; otherwise the details cannot
  be told apart from the booking, and the entry is one line of its own amount with the entry's
  fields only (a line never claims money the account did not move).
- **Counterparty**: the debtor (``Dbtr``, ``DbtrAcct``) of a credit, the creditor of a debit.
- **Reference**: the unstructured remittance (``Ustrd``, blocks joined by a space), else the
  structured creditor references (``Strd/CdtrRefInf/Ref``). ``EndToEndId`` ``NOTPROVIDED`` is
  no id.

XML attacks: the parser expands no entity, loads no DTD and opens no network connection, and a
file with a DOCTYPE is refused before anything is read from it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from lxml import etree

from apps.core.currencies import UnknownCurrency, get_currency
from apps.core.money import InvalidAmount, Money
from apps.reconciliation.data import (
    Balance,
    ParsedStatement,
    StatementFormat,
    StatementLine,
    StatementRefused,
)

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
XSD_DIR = Path(__file__).resolve().parent / "xsd"
VERSIONS = ("001.02", "001.03", "001.04", "001.05", "001.06", "001.07", "001.08")

# message -> (format, the Document's child, the statement element)
_MESSAGES = {
    "camt.053": (StatementFormat.CAMT_053, "BkToCstmrStmt", "Stmt"),
    "camt.054": (StatementFormat.CAMT_054, "BkToCstmrDbtCdtNtfctn", "Ntfctn"),
}
_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:(camt\.\d{3})\.(\d{3}\.\d{2})")
_POSITION_SUFFIX = re.compile(r",? line \d+, column \d+$")
_OPENING, _CLOSING = ("OPBD", "PRCD"), ("CLBD", "CLAV")
_NOT_PROVIDED = "NOTPROVIDED"


def camt_parse(content: bytes) -> list[ParsedStatement]:
    """The statements of a camt.053 or camt.054 file, in file order.

    Raises StatementRefused (with ``line`` where known) for bytes that are not well-formed XML,
    a DOCTYPE, a root that is not a camt.053/054 ``Document``, a version not read here, a
    missing element the reading needs, a bad amount, date or currency. TypeError for a str."""
    root = _xml_root(content)
    reader = _Reader(root)
    _schema_check(root, reader.message, reader.version)
    return [reader.statement(element) for element in reader.statements()]


def schema(message: str, version: str) -> etree.XMLSchema:
    """The official XSD of ``message`` (``"camt.053"``) ``version`` (``"001.08"``), compiled once
    per process. The schemas import nothing, and the parser fetches nothing."""
    return _schema(f"{message}.{version}")


@functools.cache
def _schema(name: str) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{name}.xsd"), parser))


def _schema_check(root: etree._Element, message: str, version: str) -> None:
    checker = schema(message, version)
    if checker.validate(root):
        return
    error = checker.error_log[0]
    # libxml2 names elements in Clark notation; the namespace is the file's own, so drop it.
    reason = error.message.replace(f"{{{NAMESPACE_PREFIX}{message}.{version}}}", "")
    raise StatementRefused(f"not valid against the {message}.{version} schema: {reason}", line=error.line or None)


def _xml_root(content: bytes) -> etree._Element:
    if not isinstance(content, bytes):
        raise TypeError(f"a statement file is bytes, not {type(content).__name__}")
    doctype_at = content.find(b"<!DOCTYPE")
    if doctype_at >= 0:
        raise StatementRefused(
            "a document type declaration (<!DOCTYPE ...>) is not allowed in a camt file",
            line=content.count(b"\n", 0, doctype_at) + 1,
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        reason = _POSITION_SUFFIX.sub("", error.msg or "not well-formed")
        raise StatementRefused(f"not well-formed XML: {reason}", line=error.lineno) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        # A DOCTYPE in an encoding the byte search above does not see (UTF-16).
        raise StatementRefused("a document type declaration is not allowed in a camt file")
    return root


class _Reader:
    """Reads one parsed file; knows its message, version and namespace."""

    def __init__(self, root: etree._Element) -> None:
        qname = etree.QName(root)
        match = _NAMESPACE.fullmatch(qname.namespace or "")
        if qname.localname != "Document" or match is None:
            raise StatementRefused(
                f"the root element is {qname.text}, not the Document of a camt.053 or camt.054 message",
                line=root.sourceline,
            )
        message, version = match.groups()
        if message not in _MESSAGES:
            raise StatementRefused(
                f"the file is a {message}.{version} message; fincore reads camt.053 and camt.054",
                line=root.sourceline,
            )
        if version not in VERSIONS:
            raise StatementRefused(
                f"{message} version {version} is not read here (fincore reads {VERSIONS[0]} to {VERSIONS[-1]})",
                line=root.sourceline,
            )
        self.root, self.namespace, self.message, self.version = root, qname.namespace, message, version
        self.format, self.body_name, self.statement_name = _MESSAGES[message]

    # ---------------------------------------------------------------- element access

    def _child(self, parent: etree._Element, path: str) -> etree._Element | None:
        return parent.find(self._path(path))

    def _children(self, parent: etree._Element, path: str) -> list[etree._Element]:
        return parent.findall(self._path(path))

    def _path(self, path: str) -> str:
        return "/".join(f"{{{self.namespace}}}{step}" for step in path.split("/"))

    def _text(self, parent: etree._Element, path: str) -> str:
        element = self._child(parent, path)
        return (element.text or "").strip() if element is not None else ""

    def _required(self, parent: etree._Element, path: str) -> etree._Element:
        element = self._child(parent, path)
        if element is None:
            raise StatementRefused(
                f"{etree.QName(parent).localname} has no {path}", line=parent.sourceline
            )
        return element

    def _required_text(self, parent: etree._Element, path: str) -> str:
        element = self._required(parent, path)
        text = (element.text or "").strip()
        if not text:
            raise StatementRefused(f"{path} is empty", line=element.sourceline)
        return text

    # ---------------------------------------------------------------- the file

    def statements(self) -> list[etree._Element]:
        body = self._required(self.root, self.body_name)
        self._required(body, "GrpHdr")
        statements = self._children(body, self.statement_name)
        if not statements:
            raise StatementRefused(
                f"{self.body_name} has no {self.statement_name}: the file holds no "
                f"{'statement' if self.statement_name == 'Stmt' else 'notification'}",
                line=body.sourceline,
            )
        return statements

    def statement(self, element: etree._Element) -> ParsedStatement:
        account = self._required(element, "Acct")
        account_id = self._text(account, "Id/IBAN") or self._text(account, "Id/Othr/Id")
        if not account_id:
            raise StatementRefused("the account has no Id/IBAN or Id/Othr/Id", line=account.sourceline)
        balances = [self._balance(balance) for balance in self._children(element, "Bal")]
        if self.format == StatementFormat.CAMT_053 and not balances:
            raise StatementRefused("a camt.053 statement has no Bal", line=element.sourceline)
        entries = self._children(element, "Ntry")
        currency = self._account_currency(account) or self._first_currency(balances, entries)
        created = self._text(element, "CreDtTm") or self._text(self.root, f"{self.body_name}/GrpHdr/CreDtTm")
        return ParsedStatement(
            format=self.format,
            version=self.version,
            statement_id=self._required_text(element, "Id"),
            sequence=self._text(element, "ElctrncSeqNb") or self._text(element, "LglSeqNb"),
            account=account_id,
            currency=currency,
            opening_balance=_pick(balances, _OPENING),
            closing_balance=_pick(balances, _CLOSING),
            created_at=_datetime(created, element) if created else None,
            lines=tuple(line for entry in entries for line in self._entry_lines(entry)),
        )

    def _account_currency(self, account: etree._Element) -> str:
        element = self._child(account, "Ccy")
        if element is None:
            return ""
        return _currency((element.text or "").strip(), element)

    def _first_currency(self, balances: list[tuple[str, Balance]], entries: list[etree._Element]) -> str:
        for _, balance in balances:
            return balance.currency
        for entry in entries:
            return self._amount(entry, "Amt").currency
        return ""

    # ---------------------------------------------------------------- balances

    def _balance(self, element: etree._Element) -> tuple[str, Balance]:
        code = self._text(element, "Tp/CdOrPrtry/Cd") or self._text(element, "Tp/CdOrPrtry/Prtry")
        if not code:
            raise StatementRefused("a balance has no type (Tp/CdOrPrtry)", line=element.sourceline)
        money = self._signed(element, "Amt")
        return code, Balance(amount=money.amount, currency=money.currency, on=self._date(element, "Dt", required=True))

    # ---------------------------------------------------------------- entries

    def _booked(self, entry: etree._Element) -> bool:
        status = self._required(entry, "Sts")
        # From 001.08 the status is a choice (Sts/Cd or Sts/Prtry); before, the code itself.
        code = self._text(status, "Cd") if len(status) else (status.text or "").strip()
        if not code and not len(status):
            raise StatementRefused("Sts is empty", line=status.sourceline)
        return code == "BOOK"

    def _entry_lines(self, entry: etree._Element) -> Iterator[StatementLine]:
        if not self._booked(entry):
            return
        money = self._signed(entry, "Amt")
        booking_date = self._date(entry, "BookgDt") or self._date(entry, "ValDt")
        if booking_date is None:
            raise StatementRefused("a booked entry has neither BookgDt nor ValDt", line=entry.sourceline)
        common = {
            "currency": money.currency,
            "booking_date": booking_date,
            "value_date": self._date(entry, "ValDt"),
            "bank_reference": self._text(entry, "AcctSvcrRef"),
            "description": self._text(entry, "AddtlNtryInf"),
        }
        details = self._children(entry, "NtryDtls/TxDtls")
        if len(details) == 1:
            yield self._line(details[0], money.amount, common)
            return
        amounts = [self._detail_amount(detail, entry_debit=money.amount < 0) for detail in details]
        split = [amount.amount for amount in amounts if amount is not None and amount.currency == money.currency]
        if details and len(split) == len(details) and sum(split) == money.amount:
            for detail, amount in zip(details, split, strict=True):
                yield self._line(detail, amount, common)
            return
        yield StatementLine(amount=money.amount, **common)

    def _detail_amount(self, detail: etree._Element, *, entry_debit: bool) -> Money | None:
        # Amt from 001.03; in 001.02 only AmtDtls/TxAmt/Amt carries it.
        path = "Amt" if self._child(detail, "Amt") is not None else "AmtDtls/TxAmt/Amt"
        if self._child(detail, path) is None:
            return None
        money = self._amount(detail, path)
        indicator = self._text(detail, "CdtDbtInd")
        debit = _is_debit(indicator, self._child(detail, "CdtDbtInd")) if indicator else entry_debit
        return -money if debit else money

    def _line(self, detail: etree._Element, amount: int, common: dict) -> StatementLine:
        end_to_end = self._text(detail, "Refs/EndToEndId")
        parties = self._child(detail, "RltdPties")
        name = account = ""
        if parties is not None:
            role = "Dbtr" if amount >= 0 else "Cdtr"
            # 001.08 wraps the party in Pty (or Agt); before, the party is the element itself.
            name = self._text(parties, f"{role}/Nm") or self._text(parties, f"{role}/Pty/Nm")
            account = self._text(parties, f"{role}Acct/Id/IBAN") or self._text(parties, f"{role}Acct/Id/Othr/Id")
        unstructured = [
            (element.text or "").strip() for element in self._children(detail, "RmtInf/Ustrd") if element.text
        ]
        structured = [
            (element.text or "").strip()
            for element in self._children(detail, "RmtInf/Strd/CdtrRefInf/Ref")
            if element.text
        ]
        fields = dict(common)
        fields["bank_reference"] = self._text(detail, "Refs/AcctSvcrRef") or common["bank_reference"]
        fields["description"] = common["description"] or self._text(detail, "AddtlTxInf")
        return StatementLine(
            amount=amount,
            reference=" ".join(unstructured) or " ".join(structured),
            end_to_end_id="" if end_to_end == _NOT_PROVIDED else end_to_end,
            counterparty_name=name,
            counterparty_account=account,
            **fields,
        )

    # ---------------------------------------------------------------- values

    def _amount(self, parent: etree._Element, path: str) -> Money:
        element = self._required(parent, path)
        currency = _currency(element.get("Ccy", ""), element)
        text = (element.text or "").strip()
        exponent = get_currency(currency).exponent
        whole, dot, fraction = text.partition(".")
        if dot and len(fraction) > exponent and not fraction[exponent:].strip("0"):
            # Padding zeros change nothing: 8.850 EUR is 8.85 EUR exactly.
            fraction = fraction[:exponent]
            text = f"{whole}.{fraction}" if fraction else whole
        if text.startswith("-"):
            raise StatementRefused(f"amount {text!r} is negative: the sign is CdtDbtInd's", line=element.sourceline)
        try:
            return Money.from_major(text, currency)
        except InvalidAmount as error:
            raise StatementRefused(f"bad amount: {error}", line=element.sourceline) from None

    def _signed(self, parent: etree._Element, path: str) -> Money:
        money = self._amount(parent, path)
        indicator = self._required(parent, "CdtDbtInd")
        return -money if _is_debit((indicator.text or "").strip(), indicator) else money

    def _date(self, parent: etree._Element, path: str, *, required: bool = False) -> date | None:
        choice = self._child(parent, path)
        if choice is None:
            if required:
                raise StatementRefused(f"{etree.QName(parent).localname} has no {path}", line=parent.sourceline)
            return None
        day, moment = self._child(choice, "Dt"), self._child(choice, "DtTm")
        if day is not None:
            try:
                return date.fromisoformat((day.text or "").strip())
            except ValueError:
                raise StatementRefused(f"bad date {day.text!r} in {path}", line=day.sourceline) from None
        if moment is not None:
            return _datetime((moment.text or "").strip(), moment).date()
        raise StatementRefused(f"{path} has neither Dt nor DtTm", line=choice.sourceline)


def _pick(balances: list[tuple[str, Balance]], codes: tuple[str, ...]) -> Balance | None:
    for code in codes:
        for balance_code, balance in balances:
            if balance_code == code:
                return balance
    return None


def _is_debit(indicator: str, element: etree._Element | None) -> bool:
    if indicator not in ("CRDT", "DBIT"):
        line = element.sourceline if element is not None else None
        raise StatementRefused(f"CdtDbtInd is {indicator!r}, not CRDT or DBIT", line=line)
    return indicator == "DBIT"


def _currency(code: str, element: etree._Element) -> str:
    try:
        return get_currency(code).code
    except UnknownCurrency:
        raise StatementRefused(f"{code!r} is not an ISO 4217 currency code", line=element.sourceline) from None


def _datetime(text: str, element: etree._Element) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise StatementRefused(f"bad date and time {text!r}", line=element.sourceline) from None
