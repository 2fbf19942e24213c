"""The pain.001.001.09 credit-transfer initiation: the file that asks the bank to pay merchants.

:func:`credit_transfer_initiation_xml` writes one file for one debtor account (a nostro) and one
currency: a group header, one payment information block (PmtInf) and one credit transfer per
payout, in UTF-8 with an XML declaration. fincore pays from its own nostro, so the debtor is also
the initiating party (InitgPty); the charge bearer and batch booking are the constants below.
What it keeps:

* **Exact amounts.** Amounts are integer minor units in; in the file they are major units with
  exactly the currency's ISO 4217 exponent (``Money.to_major_str``): 12500 fils is ``12.500``
  BHD, 1250 cents ``12.50`` USD, 1250 yen ``1250`` JPY. No float anywhere.
* **Counts and control sums agree.** ``NbOfTxs`` is the number of transfers and ``CtrlSum`` the
  sum of their amounts, in the group header and in the PmtInf alike.
* **One currency a file.** A control sum adds amounts, so mixed currencies are refused
  (:class:`~apps.settlement.exceptions.CreditTransferFileMixedCurrencies`), as is a file with no
  transfer (:class:`~apps.settlement.exceptions.CreditTransferFileEmpty`).
* **Text as the schema takes it.** Identifiers (message, payment information and end-to-end
  ids) are written exactly as given or refused: 1 to 35 characters, no leading or trailing
  space, no line break or tab — a bank that trimmed or cut one would report a status fincore
  could not match. Names and the remittance are free text: each run of whitespace becomes one
  space, and the text is cut to the schema's 140 characters. A character XML 1.0 cannot carry
  (a control character, an unpaired surrogate, U+FFFE/U+FFFF) is refused in any field, never
  dropped. ``&``, ``<`` and ``>`` are escaped by lxml; names in any script go out as UTF-8.
* **Accounts and banks as the rails take them.** IBANs pass ISO 13616's check digits (written
  without spaces, upper case); BICs are 8 or 11 characters of the ISO 9362 shape.
* **Never an invalid file.** The bytes are validated against the official XSD before they are
  returned; a file that fails is never released (Iso20022Invalid, which would be a bug here).

Every refusal is a :class:`~apps.settlement.exceptions.CreditTransferFileRefused` naming the
field (``transfers[2].end_to_end_id``) and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from lxml import etree

from apps.core.currencies import LARGEST_AMOUNT, UnknownCurrency, get_currency
from apps.core.iban import iban_is_valid, iban_normalize
from apps.core.money import Money
from apps.settlement.adapters.iso20022 import PAIN_001, message_namespace, schema_validate
from apps.settlement.exceptions import (
    CreditTransferFieldInvalid,
    CreditTransferFileEmpty,
    CreditTransferFileMixedCurrencies,
)

IDENTIFIER_MAX_LENGTH = 35
"""Max35Text: MsgId, PmtInfId, EndToEndId."""

NAME_MAX_LENGTH = 140
"""Max140Text: party names (Nm) and each unstructured remittance line (Ustrd)."""

CONTROL_SUM_MAX_DIGITS = 18
"""DecimalNumber's totalDigits: the control sum, in digits of minor units."""

CHARGE_BEARER = "DEBT"
"""ChrgBr: fincore, the debtor, bears the banks' charges, so a merchant receives its payout to
the minor unit (the net its settlement report shows)."""

BATCH_BOOKING = "false"
"""BtchBookg: one debit per payout on the nostro's statement, so reconciliation can match each
statement line to one payout (a batch booking would show the file's total as one line)."""

_BIC = re.compile(r"[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?")
# XML 1.0's Char production, negated: what no XML 1.0 document can carry, escaped or not.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAK_OR_TAB = re.compile("[\t\n\r]")
_WHITESPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Debtor:
    """The account the payouts leave from: fincore's nostro at its bank."""

    name: str
    iban: str
    bic: str


@dataclass(frozen=True, slots=True)
class CreditTransfer:
    """One payout: ``amount`` minor units of ``currency`` to the creditor's account.

    ``end_to_end_id`` (≤ 35 characters) comes back in the bank's pain.002 and is how the status
    finds its payout; ``remittance`` (cut to 140 characters) is what the merchant's statement
    shows. ``creditor_bic`` may be None where the rail routes by IBAN alone."""

    end_to_end_id: str
    amount: int
    currency: str
    creditor_name: str
    creditor_iban: str
    creditor_bic: str | None = None
    remittance: str | None = None


@dataclass(frozen=True, slots=True)
class CreditTransferInitiation:
    """One file: one debtor, one currency, one requested execution date, its transfers."""

    message_id: str
    created_at: datetime
    requested_execution_date: date
    debtor: Debtor
    payment_information_id: str
    transfers: tuple[CreditTransfer, ...]


def credit_transfer_initiation_xml(initiation: CreditTransferInitiation) -> bytes:
    """The pain.001.001.09 document of ``initiation``, UTF-8 with an XML declaration, valid
    against the official XSD (checked before it is returned).

    Invariants: ``NbOfTxs`` = the number of transfers and ``CtrlSum`` = the sum of their amounts
    (group header and PmtInf); every amount is written at its currency's exponent exactly.

    Raises CreditTransferFileEmpty (no transfer), CreditTransferFileMixedCurrencies (more than
    one currency), CreditTransferFieldInvalid (the field and why: an identifier empty, longer than
    35 characters, with surrounding space, a line break or a tab, or used twice as an end-to-end
    id; a character XML 1.0 cannot carry; a name that is blank; an IBAN failing its check digits;
    a BIC not of the ISO 9362 shape; an amount that is not a whole number of minor units between
    1 and LARGEST_AMOUNT; an unknown currency; a naive ``created_at``; a requested execution date
    that is a datetime; a control sum over 18 digits), and Iso20022Invalid should the written
    file ever break the schema.
    """
    transfers = tuple(initiation.transfers)
    if not transfers:
        raise CreditTransferFileEmpty()
    currencies = sorted({str(transfer.currency) for transfer in transfers})
    if len(currencies) > 1:
        raise CreditTransferFileMixedCurrencies(currencies=tuple(currencies))
    currency = _currency(transfers[0].currency, "transfers[0].currency")

    message_id = _identifier(initiation.message_id, "message_id")
    payment_information_id = _identifier(initiation.payment_information_id, "payment_information_id")
    created_at = _created_at(initiation.created_at)
    execution_date = _execution_date(initiation.requested_execution_date)
    debtor_name = _name(initiation.debtor.name, "debtor.name")
    debtor_iban = _iban(initiation.debtor.iban, "debtor.iban")
    debtor_bic = _bic(initiation.debtor.bic, "debtor.bic")

    rows = [_transfer_as_written(transfer, f"transfers[{index}]") for index, transfer in enumerate(transfers)]
    _refuse_repeated_end_to_end_ids(row.end_to_end_id for row in rows)
    control_sum = sum(row.amount for row in rows)
    if len(str(control_sum)) > CONTROL_SUM_MAX_DIGITS:
        raise CreditTransferFieldInvalid(
            field="transfers",
            reason=f"the control sum, {control_sum} minor units, has more than {CONTROL_SUM_MAX_DIGITS} "
            "digits; split the payouts over more than one file",
        )
    count = str(len(rows))
    control_sum_text = _major(control_sum, currency)

    ns = message_namespace(PAIN_001)
    document = etree.Element(f"{{{ns}}}Document", nsmap={None: ns})

    def child(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ns}}}{tag}")
        if text is not None:
            element.text = text
        return element

    initiation_element = child(document, "CstmrCdtTrfInitn")
    header = child(initiation_element, "GrpHdr")
    child(header, "MsgId", message_id)
    child(header, "CreDtTm", created_at)
    child(header, "NbOfTxs", count)
    child(header, "CtrlSum", control_sum_text)
    child(child(header, "InitgPty"), "Nm", debtor_name)

    payment = child(initiation_element, "PmtInf")
    child(payment, "PmtInfId", payment_information_id)
    child(payment, "PmtMtd", "TRF")
    child(payment, "BtchBookg", BATCH_BOOKING)
    child(payment, "NbOfTxs", count)
    child(payment, "CtrlSum", control_sum_text)
    child(child(payment, "ReqdExctnDt"), "Dt", execution_date)
    child(child(payment, "Dbtr"), "Nm", debtor_name)
    child(child(child(payment, "DbtrAcct"), "Id"), "IBAN", debtor_iban)
    child(child(child(payment, "DbtrAgt"), "FinInstnId"), "BICFI", debtor_bic)
    child(payment, "ChrgBr", CHARGE_BEARER)

    for row in rows:
        transaction = child(payment, "CdtTrfTxInf")
        child(child(transaction, "PmtId"), "EndToEndId", row.end_to_end_id)
        child(child(transaction, "Amt"), "InstdAmt", _major(row.amount, currency)).set("Ccy", currency)
        # The schema's order: creditor agent, creditor, creditor account, then the remittance.
        if row.creditor_bic is not None:
            child(child(child(transaction, "CdtrAgt"), "FinInstnId"), "BICFI", row.creditor_bic)
        child(child(transaction, "Cdtr"), "Nm", row.creditor_name)
        child(child(child(transaction, "CdtrAcct"), "Id"), "IBAN", row.creditor_iban)
        if row.remittance is not None:
            child(child(transaction, "RmtInf"), "Ustrd", row.remittance)

    xml = b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(
        document, encoding="UTF-8", xml_declaration=False, pretty_print=True
    )
    schema_validate(xml, PAIN_001)
    return xml


def _transfer_as_written(transfer: CreditTransfer, field: str) -> CreditTransfer:
    """``transfer`` checked, with its text as the file carries it (IBAN and BIC normalised, free
    text collapsed and cut, a blank BIC or remittance None); ``field`` names it in a refusal."""
    amount = transfer.amount
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise CreditTransferFieldInvalid(
            field=f"{field}.amount",
            reason=f"must be an int number of minor units, not {type(amount).__name__}",
        )
    if not 1 <= amount <= LARGEST_AMOUNT:
        raise CreditTransferFieldInvalid(
            field=f"{field}.amount", reason=f"{amount} is not between 1 and {LARGEST_AMOUNT} minor units"
        )
    bic = transfer.creditor_bic
    remittance = transfer.remittance
    return CreditTransfer(
        end_to_end_id=_identifier(transfer.end_to_end_id, f"{field}.end_to_end_id"),
        amount=int(amount),
        currency=transfer.currency,
        creditor_name=_name(transfer.creditor_name, f"{field}.creditor_name"),
        creditor_iban=_iban(transfer.creditor_iban, f"{field}.creditor_iban"),
        creditor_bic=_bic(bic, f"{field}.creditor_bic") if bic is not None and bic != "" else None,
        remittance=_optional_text(remittance, f"{field}.remittance"),
    )


def _refuse_repeated_end_to_end_ids(end_to_end_ids: Iterable[str]) -> None:
    seen: dict[str, int] = {}
    for index, end_to_end_id in enumerate(end_to_end_ids):
        if end_to_end_id in seen:
            raise CreditTransferFieldInvalid(
                field=f"transfers[{index}].end_to_end_id",
                reason=f"{end_to_end_id!r} is also transfers[{seen[end_to_end_id]}]'s: the bank's status "
                "report finds each payout by it, so it is unique within a file",
            )
        seen[end_to_end_id] = index


def _major(amount: int, currency: str) -> str:
    return Money(amount, currency).to_major_str()


def _currency(code: object, field: str) -> str:
    try:
        return get_currency(code).code  # type: ignore[arg-type]
    except UnknownCurrency as error:
        raise CreditTransferFieldInvalid(field=field, reason=str(error)) from None


def _xml_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise CreditTransferFieldInvalid(field=field, reason=f"must be text, not {type(value).__name__}")
    bad = _NOT_XML_CHAR.search(value)
    if bad is not None:
        raise CreditTransferFieldInvalid(
            field=field,
            reason=f"U+{ord(bad.group()):04X} at position {bad.start()} is a character XML 1.0 cannot carry",
        )
    return value


def _identifier(value: object, field: str) -> str:
    text = _xml_text(value, field)
    if not text or text.isspace():
        raise CreditTransferFieldInvalid(field=field, reason="is empty")
    if len(text) > IDENTIFIER_MAX_LENGTH:
        raise CreditTransferFieldInvalid(
            field=field, reason=f"has {len(text)} characters; at most {IDENTIFIER_MAX_LENGTH} are allowed"
        )
    if text != text.strip():
        raise CreditTransferFieldInvalid(field=field, reason="starts or ends with a space")
    if _LINE_BREAK_OR_TAB.search(text):
        raise CreditTransferFieldInvalid(field=field, reason="contains a line break or a tab")
    return text


def _optional_text(value: object, field: str) -> str | None:
    if value is None:
        return None
    text = _WHITESPACE_RUN.sub(" ", _xml_text(value, field)).strip()
    return text[:NAME_MAX_LENGTH].rstrip() or None


def _name(value: object, field: str) -> str:
    text = _optional_text(value, field)
    if text is None:
        raise CreditTransferFieldInvalid(field=field, reason="is empty")
    return text


def _iban(value: object, field: str) -> str:
    if not isinstance(value, str) or not iban_is_valid(value):
        raise CreditTransferFieldInvalid(field=field, reason=f"{value!r} is not a valid IBAN")
    return iban_normalize(value)


def _bic(value: object, field: str) -> str:
    if not isinstance(value, str) or not _BIC.fullmatch(value.strip().upper()):
        raise CreditTransferFieldInvalid(
            field=field, reason=f"{value!r} is not a BIC (8 or 11 letters and digits, ISO 9362)"
        )
    return value.strip().upper()


def _created_at(value: object) -> str:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise CreditTransferFieldInvalid(field="created_at", reason="must be an aware datetime")
    if value.utcoffset() % timedelta(minutes=1):
        # An offset with seconds (a zone's local mean time before 1900) has no xs:dateTime form.
        value = value.astimezone(UTC)
    # Seconds are precise enough for a creation time, and some banks' parsers take no fraction.
    return value.isoformat(timespec="seconds")


def _execution_date(value: object) -> str:
    # A datetime is a date too; one here would be a caller mixing up the two.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise CreditTransferFieldInvalid(field="requested_execution_date", reason="must be a date")
    return value.isoformat()
