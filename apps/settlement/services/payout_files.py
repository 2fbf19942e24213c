"""Payout files: the pain.001 that sends a currency's releasable payouts from its nostro, and the
pain.002 status reports that say what became of them.

A file is written, validated against the official XSD, stored and its payouts moved to
``in_transit`` in one transaction: a file exists exactly when its payouts left with it. A status
report moves each payout it names to ``paid`` (ACSC, ACCC), ``failed`` (RJCT while in transit) or
``returned`` (RJCT of a payout already paid), all of them or none; the same report twice (by its
message id or its bytes) changes nothing.
"""

import hashlib
from dataclasses import dataclass

from django.db import transaction

from apps.audit.services import audit_record
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.ids import uuid7
from apps.payments import selectors as payments_selectors
from apps.payments import services as payments_services
from apps.settlement import selectors
from apps.settlement.adapters import pain001, pain002
from apps.settlement.exceptions import NoPayoutNostro, StatusReportRefused
from apps.settlement.models import PayoutFile, StatusReport
from apps.treasury.selectors import nostros as treasury_selectors

# Transaction statuses that settle a payout, and the one that refuses it (ISO 20022 external codes).
SETTLED = frozenset({"ACSC", "ACCC"})
REJECTED = "RJCT"


def payout_file_public_id(payout_file: PayoutFile) -> str:
    return ids.encode("pf", payout_file.pk)


def payout_file_create(*, currency: str, actor: Actor) -> PayoutFile | None:
    """Send every releasable live payout of ``currency`` that routing does not send by an instant
    rail in one pain.001 from its payout nostro, or return None when none is left. Invariant: the
    file is stored and its payouts are in transit together, or neither. Raises NoPayoutNostro; the
    adapters' CreditTransferFileRefused (a payout the schema cannot carry: nothing is sent)."""
    currency = currency.upper()
    nostro = treasury_selectors.payout_nostro(currency=currency)
    if nostro is None:
        raise NoPayoutNostro(f"No nostro account pays out {currency}: set one in Treasury → Nostro accounts.")
    # Instant payouts first, each in its own transaction (the rail is called after they commit):
    # those that leave by an instant rail are in transit, so the file below no longer takes them.
    payments_services.payouts_route_releasable(currency=currency, livemode=True, actor=actor)
    with transaction.atomic(durable=True):
        now = clock.now()
        payouts = payments_selectors.payouts_releasable(currency=currency, livemode=True, now=now)
        if not payouts:
            return None
        file_id = uuid7()
        message_id = ids.encode("pf", file_id)
        initiation = pain001.CreditTransferInitiation(
            message_id=message_id, created_at=now, payment_information_id=message_id,
            requested_execution_date=selectors.business_date(currency=currency, at=now),
            debtor=pain001.Debtor(name=nostro.account_name, iban=nostro.iban, bic=nostro.bic),
            transfers=tuple(pain001.CreditTransfer(
                end_to_end_id=payout.end_to_end_id, amount=payout.amount, currency=currency,
                creditor_name=payout.beneficiary_name, creditor_iban=payout.iban, creditor_bic=payout.bic or None,
                remittance=f"Payout {ids.encode('po', payout.pk)} settlement {payout.settlement_reference}",
            ) for payout in payouts),
        )
        document = pain001.credit_transfer_initiation_xml(initiation)
        payout_file = PayoutFile.objects.create(
            id=file_id, message_id=message_id, currency=currency, nostro=nostro.code,
            requested_execution_date=initiation.requested_execution_date, payouts=len(payouts),
            control_sum=sum(payout.amount for payout in payouts), document=document,
            sha256=hashlib.sha256(document).hexdigest(), created_at=now, created_by=actor.label)
        payments_services.payouts_send(payout_ids=[payout.pk for payout in payouts], nostro=nostro.code,
                                       file_reference=message_id, actor=actor)
        audit_record(actor=actor, action="settlement.payout_file_created", object_type="settlement.payoutfile",
                     object_id=payout_file_public_id(payout_file),
                     after={"message_id": message_id, "currency": currency, "nostro": nostro.code,
                            "payouts": payout_file.payouts, "control_sum": payout_file.control_sum})
    return payout_file


@dataclass(frozen=True, slots=True)
class StatusReportImport:
    report: StatusReport
    duplicate: bool  # the same report was imported before: nothing changed


def status_report_import(*, document: bytes, actor: Actor) -> StatusReportImport:
    """Apply a pain.002 to the payouts of the file it answers. Invariant: all its statuses apply,
    or none (one transaction); a report imported before changes nothing. Raises the adapters'
    Iso20022Refused (malformed, another message, off the XSD, unusable) and StatusReportRefused (a
    file or an end-to-end id fincore never sent, a status a payout's state cannot take)."""
    digest = hashlib.sha256(document).hexdigest()
    earlier = StatusReport.objects.filter(sha256=digest).first()
    if earlier is not None:
        return StatusReportImport(earlier, duplicate=True)
    report = pain002.payment_status_report(document)
    earlier = StatusReport.objects.filter(message_id=report.message_id).first()
    if earlier is not None:
        return StatusReportImport(earlier, duplicate=True)
    payout_file = PayoutFile.objects.filter(message_id=report.original_message_id).first()
    if payout_file is None:
        raise StatusReportRefused(f"The report answers {report.original_message_id!r}, which is no payout file "
                                  "fincore sent.")
    payouts = {payout.end_to_end_id: payout
               for payout in payments_selectors.payouts_of_file(file_reference=payout_file.message_id)}
    if unknown := sorted({status.end_to_end_id for status in report.transactions} - set(payouts)):
        raise StatusReportRefused(f"End-to-end ids {', '.join(unknown)} are not payouts of {payout_file.message_id}.")
    statuses = {status.end_to_end_id: (status.status, status.reason_code, status.reason_text)
                for status in report.transactions}
    if not statuses and report.group_status:
        statuses = dict.fromkeys(payouts, (report.group_status, None, None))
    counts = {"paid": 0, "failed": 0, "returned": 0, "unchanged": 0}
    with transaction.atomic(durable=True):
        for end_to_end_id, (status, reason_code, reason_text) in sorted(statuses.items()):
            outcome = _status_apply(payouts[end_to_end_id], status, reason_code, reason_text, actor)
            counts[outcome] += 1
        imported = StatusReport.objects.create(
            message_id=report.message_id, payout_file=payout_file, group_status=report.group_status or "",
            sha256=digest, document=document, imported_at=clock.now(), imported_by=actor.label, **counts)
        audit_record(actor=actor, action="settlement.status_report_imported", object_type="settlement.statusreport",
                     object_id=str(imported.pk), after={"message_id": report.message_id,
                                                        "payout_file": payout_file.message_id, **counts})
    return StatusReportImport(imported, duplicate=False)


def _status_apply(payout, status: str, reason_code: str | None, reason_text: str | None, actor: Actor) -> str:
    """Move one payout as its status says; returns what happened to it."""
    if status in SETTLED:
        if payout.status == "paid":
            return "unchanged"
        payments_services.payout_paid(payout_id=payout.pk, actor=actor)
        return "paid"
    if status == REJECTED:
        code, reason = reason_code or "NARR", reason_text or "Rejected by the bank"
        if payout.status == "paid":
            payments_services.payout_returned(payout_id=payout.pk, reason_code=code, reason=reason, actor=actor)
            return "returned"
        if payout.status in ("failed", "returned"):
            return "unchanged"
        payments_services.payout_failed(payout_id=payout.pk, reason_code=code, reason=reason, actor=actor)
        return "failed"
    return "unchanged"  # accepted, in process, pending: the payout stays in transit


def payout_files_due(*, actor: Actor) -> list[PayoutFile]:
    """A file for each currency with a payout nostro and releasable payouts (beat calls it every
    few minutes: payouts leave once their hold passes or their approval comes)."""
    files = []
    for currency in treasury_selectors.payout_currencies():
        if payout_file := payout_file_create(currency=currency, actor=actor):
            files.append(payout_file)
    return files
