"""The pain.002.001.10 payment status report: the bank's answer to a credit-transfer file.

:func:`payment_status_report` reads one report into a :class:`PaymentStatusReport`: which file
it answers (``original_message_id``, the pain.001's MsgId), the status of that file as a whole
(``group_status``), of each payment information block, and of each transaction by its
end-to-end id. The codes are ISO 20022's external codes as the bank sent them: statuses such as
``ACCP`` (accepted), ``ACSP`` (settlement in process), ``ACSC``/``ACCC`` (settled), ``PART``
(some accepted), ``PDNG`` (pending), ``RJCT`` (rejected), and reasons such as ``AC04`` (account
closed) or ``AM04`` (insufficient funds). What a status means for a payout is the services'
decision, not this reader's; in particular pain.002 has no "returned" status: a transfer the
bank had reported settled and now reports ``RJCT`` was returned, which only the payout's state
(paid) can tell.

What it keeps:

* **Refused, never half read.** A file is refused whole, with the line and the reason, before
  anything is returned: not well-formed XML or carrying a DOCTYPE (Iso20022Malformed — no entity
  is expanded, nothing fetched), not a pain.002.001.10 (Iso20022WrongMessage, naming what it is),
  breaking the official XSD (Iso20022Invalid), or valid but not applicable
  (PaymentStatusReportUnusable: a transaction without an end-to-end id, one without a status at
  any level, the same end-to-end id twice, or a date-time Python cannot hold).
* **A transaction's status is its own, else its block's, else the file's.** TxSts is optional in
  the schema: a transaction without one has its PmtInf's status (PmtInfSts), or else the
  group's (GrpSts).
* **Reasons.** ``reason_code`` is the first reason's code (``Cd``, or the bank's proprietary
  ``Prtry``); ``reason_text`` every ``AddtlInf`` of the element's reasons, joined by a space.
* **Date-times are aware.** One without an offset is the bank's local time (``local_zone``,
  Asia/Bahrain unless told).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

from lxml import etree

from apps.settlement.adapters.iso20022 import PAIN_002, message_namespace, message_read
from apps.settlement.data import BAHRAIN_TIME_ZONE
from apps.settlement.exceptions import PaymentStatusReportUnusable

_NS = message_namespace(PAIN_002)
_NAMESPACES = {"p": _NS}


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """The status of one credit transfer of the original file, found by its end-to-end id."""

    end_to_end_id: str
    status: str
    reason_code: str | None
    reason_text: str | None


@dataclass(frozen=True, slots=True)
class PaymentInformationStatus:
    """The status of one PmtInf block of the original file, as a whole (None when the bank gave
    none at that level)."""

    payment_information_id: str
    status: str | None
    reason_code: str | None
    reason_text: str | None


@dataclass(frozen=True, slots=True)
class PaymentStatusReport:
    """One pain.002: ``message_id`` is the report's own, ``original_message_id`` the pain.001's
    MsgId it answers, and ``original_message_name`` that file's message (``pain.001.001.09``).
    ``group_status`` is the whole file's status (None when the bank gives statuses per
    transaction only), with its reason. ``transactions`` keep the report's order."""

    message_id: str
    created_at: datetime
    original_message_id: str
    group_status: str | None
    transactions: tuple[TransactionStatus, ...]
    original_message_name: str
    group_reason_code: str | None
    group_reason_text: str | None
    payment_informations: tuple[PaymentInformationStatus, ...]


def payment_status_report(document: bytes, *, local_zone: tzinfo | None = None) -> PaymentStatusReport:
    """Read a pain.002.001.10 payment status report.

    ``local_zone`` is the zone of a date-time written without an offset (Asia/Bahrain when None).

    Raises Iso20022Malformed, Iso20022WrongMessage, Iso20022Invalid and
    PaymentStatusReportUnusable, each with ``line`` and ``reason`` (see the module's docstring);
    TypeError when ``document`` is not bytes. Reads the file only: never the network, a DTD or
    another file.
    """
    zone = local_zone if local_zone is not None else ZoneInfo(BAHRAIN_TIME_ZONE)
    report = _one(message_read(document, message=PAIN_002), "p:CstmrPmtStsRpt")
    header = _one(report, "p:GrpHdr")
    original = _one(report, "p:OrgnlGrpInfAndSts")

    group_status = _text(original, "p:GrpSts")
    group_reason_code, group_reason_text = _reason(original)

    payment_informations: list[PaymentInformationStatus] = []
    transactions: list[TransactionStatus] = []
    lines: dict[str, int | None] = {}
    for block in report.iterfind("p:OrgnlPmtInfAndSts", _NAMESPACES):
        block_status = _text(block, "p:PmtInfSts")
        payment_informations.append(
            PaymentInformationStatus(_text(block, "p:OrgnlPmtInfId") or "", block_status, *_reason(block))
        )
        for transaction in block.iterfind("p:TxInfAndSts", _NAMESPACES):
            end_to_end_id = _text(transaction, "p:OrgnlEndToEndId")
            if end_to_end_id is None:
                raise PaymentStatusReportUnusable(
                    line=transaction.sourceline,
                    reason="a transaction status (TxInfAndSts) has no OrgnlEndToEndId, and payouts are found by it",
                )
            if end_to_end_id in lines:
                raise PaymentStatusReportUnusable(
                    line=transaction.sourceline,
                    reason=f"end-to-end id {end_to_end_id!r} has a status twice (also on line {lines[end_to_end_id]})",
                )
            lines[end_to_end_id] = transaction.sourceline
            status = _text(transaction, "p:TxSts") or block_status or group_status
            if status is None:
                raise PaymentStatusReportUnusable(
                    line=transaction.sourceline,
                    reason=f"end-to-end id {end_to_end_id!r} has no status: no TxSts, PmtInfSts or GrpSts",
                )
            transactions.append(TransactionStatus(end_to_end_id, status, *_reason(transaction)))

    return PaymentStatusReport(
        message_id=_text(header, "p:MsgId") or "",
        created_at=_datetime(_one(header, "p:CreDtTm"), zone),
        original_message_id=_text(original, "p:OrgnlMsgId") or "",
        group_status=group_status,
        transactions=tuple(transactions),
        original_message_name=_text(original, "p:OrgnlMsgNmId") or "",
        group_reason_code=group_reason_code,
        group_reason_text=group_reason_text,
        payment_informations=tuple(payment_informations),
    )


def _one(parent: etree._Element, path: str) -> etree._Element:
    # Only for elements the schema makes mandatory: the document was validated before.
    element = parent.find(path, _NAMESPACES)
    assert element is not None, path
    return element


def _text(parent: etree._Element, path: str) -> str | None:
    # Stripped: fincore's identifiers never start or end with a space (the writer refuses them),
    # so a bank's indentation inside an element cannot stop a status finding its payout.
    element = parent.find(path, _NAMESPACES)
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _reason(parent: etree._Element) -> tuple[str | None, str | None]:
    """The first reason code of ``parent``'s StsRsnInf, and all their AddtlInf joined."""
    code: str | None = None
    texts: list[str] = []
    for reason in parent.iterfind("p:StsRsnInf", _NAMESPACES):
        if code is None:
            code = _text(reason, "p:Rsn/p:Cd") or _text(reason, "p:Rsn/p:Prtry")
        texts.extend(
            line.text.strip() for line in reason.iterfind("p:AddtlInf", _NAMESPACES) if line.text and line.text.strip()
        )
    return code, " ".join(texts) or None


def _datetime(element: etree._Element, zone: tzinfo) -> datetime:
    text = (element.text or "").strip()
    try:
        # xs:dateTime's form; Python keeps microseconds of a longer fraction and refuses 24:00:00
        # and years outside 1..9999, which the schema allows and no bank writes.
        value = datetime.fromisoformat(text)
    except ValueError as error:
        raise PaymentStatusReportUnusable(
            line=element.sourceline, reason=f"{etree.QName(element).localname} {text!r}: {error}"
        ) from None
    return value if value.utcoffset() is not None else value.replace(tzinfo=zone)
