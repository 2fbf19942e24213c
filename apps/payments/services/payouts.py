"""Payouts: a merchant's available money paid to its bank account.
``pending -> in_transit -> paid | failed``, ``pending -> failed``, ``paid -> returned``.

    payout_create     in the caller's transaction (a settlement run's chunk): the payout, with the
                      merchant's bank account copied in and a hold merchant available -> payouts
                      in transit, its beneficiary screened (a sanctions hit holds it); payout.created
    payout_release    (the maker-checker action payments.payout_release) the approval a payout at or
                      above its currency's threshold needs before it leaves
    payouts_send      the payouts of one payment file leave from a nostro: holds posted; payout.updated
    payout_paid       the bank confirmed: payouts in transit -> nostro; payout.paid
    payout_failed     refused: the hold voided (never sent) or payouts in transit -> merchant
                      available; payout.failed
    payout_returned   paid, then sent back: nostro -> merchant available; payout.failed (returned)

Each step writes the status, its ledger transfers (client ids derived from the payout's id, so a
replay never posts twice), the journal row and the event (a webhook and an outbox message) in one
transaction. A repeat of a step already done returns the payout as it is and writes nothing; a step
its status does not allow raises PayoutTransitionNotAllowed and writes nothing.

Lock order: payouts in ascending id order, then the ledger's accounts (the posting engine's).
"""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.audit.services import audit_record
from apps.compliance.sanctions.screening import payout_beneficiary_screen
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.currencies import is_currency
from apps.core.money import Money
from apps.events.outbox import services as events_services
from apps.events.webhooks.services import deliveries as webhook_deliveries
from apps.ledger.data import ACCOUNT_NAME_MAX_LENGTH
from apps.merchants import selectors as merchants_selectors
from apps.payments import locks, postings, selectors
from apps.payments.exceptions import (
    InvalidPayout,
    NoPayoutBankAccount,
    PayoutApprovalNotNeeded,
    PayoutNotFound,
    PayoutNotReleasable,
    PayoutReferenceReused,
    PayoutTransitionNotAllowed,
)
from apps.payments.models import Payout
from apps.payments.representations import payout_representation
from apps.payments.services.common import status_set, touch

Status = Payout.Status
PAYOUT_RELEASE = "payments.payout_release"
SETTLEMENT_REFERENCE_MAX_LENGTH = 64
FILE_REFERENCE_MAX_LENGTH = 35  # a pain.001's MsgId (Max35Text)
REASON_CODE_MAX_LENGTH = 64


def end_to_end_id(payout_id: UUID) -> str:
    """The payout's id as banks carry it end to end: ``PO`` and its 26 characters (no ``_``, which is
    outside the character set banks accept), 28 of the 35 a pain.001 allows."""
    return "PO" + ids.encode("po", payout_id).removeprefix("po_")


def approval_threshold(currency: str) -> int | None:
    """The amount (minor units) from which a payout in ``currency`` needs a checker's approval;
    None where none is set: then every payout needs one (FINCORE_PAYOUT_APPROVAL_THRESHOLDS)."""
    return settings.FINCORE_PAYOUT_APPROVAL_THRESHOLDS.get(currency)


def _journal(payout: Payout, action: str, *, actor: Actor, before: dict[str, Any] | None = None,
             after: dict[str, Any] | None = None, reason: str = "") -> None:
    audit_record(actor=actor, action=action, object_type="payments.payout", object_id=str(payout.pk), before=before,
                 after=after, reason=reason, merchant_id=str(payout.merchant_id))


def _announce(payout: Payout, event_type: str) -> None:
    """The merchant's webhook and fincore's own outbox event, in the caller's transaction;
    ``data.object`` is the API representation (``payments.payout_created`` and so on); the
    outbox event's data also names the merchant (``data.merchant_id``)."""
    data = {"object": payout_representation(payout)}
    webhook_deliveries.webhook_event_emit(merchant_id=payout.merchant_id, livemode=payout.livemode,
                                          event_type=event_type, data=data)
    events_services.event_publish(event_type=f"payments.{event_type.replace('.', '_')}",
                                  data={**data, "merchant_id": str(payout.merchant_id)})


# --- making one --------------------------------------------------------------------------------


def _made_before(existing: Payout, *, merchant_id: Any, livemode: bool, currency: str, amount: int) -> Payout:
    if (str(existing.merchant_id), existing.livemode, existing.currency, existing.amount) != (
            str(merchant_id), livemode, currency, amount):
        raise PayoutReferenceReused(
            f"Settlement line {existing.settlement_reference} is paid out by {ids.encode('po', existing.pk)} "
            f"({Money(existing.amount, existing.currency).format()}), not by this payout.")
    return existing


def payout_create(*, merchant_id: Any, livemode: bool, currency: str, amount: int, settlement_reference: str,
                  actor: Actor) -> Payout:
    """Pay ``amount`` of the merchant's available ``currency`` balance out to its bank account, for the
    settlement line ``settlement_reference`` (its public id).

    Runs in the caller's transaction (a settlement run's chunk): the payout, its hold (merchant
    available -> payouts in transit, pending), its journal row and ``payout.created`` commit with
    the caller's work or not at all; a refusal leaves the caller's transaction usable (a savepoint).
    The bank account is copied in (a later change never redirects it) with its hold
    (``hold_until``); a payout of the currency's approval threshold or more ``needs_approval``.
    Its beneficiary is screened against the sanctions lists in the same transaction: a hit holds it
    for review (``held_for_review``); a merchant whose payouts compliance holds has it
    ``merchant_payouts_held``. Either way it stays pending until released.

    One payout per settlement line (a unique constraint): the same line again, with the same
    merchant, mode, currency and amount, returns the first payout and writes nothing.

    Raises InvalidPayout (amount not positive, unknown currency, no reference),
    NoPayoutBankAccount (record "no bank account" and skip), PayoutExceedsAvailable,
    PayoutReferenceReused, or another TransferRefused of the ledger (a frozen account).
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidPayout(f"A payout is a positive whole number of minor units, not {amount!r}.")
    if not is_currency(currency):
        raise InvalidPayout(f"{currency!r} is not an ISO 4217 currency code.")
    reference = settlement_reference.strip() if isinstance(settlement_reference, str) else ""
    if not reference or len(reference) > SETTLEMENT_REFERENCE_MAX_LENGTH:
        raise InvalidPayout(f"A payout names its settlement line: 1 to {SETTLEMENT_REFERENCE_MAX_LENGTH} characters.")
    same = {"merchant_id": merchant_id, "livemode": livemode, "currency": currency, "amount": amount}
    if existing := Payout.objects.filter(settlement_reference=reference).first():
        return _made_before(existing, **same)
    account = merchants_selectors.payout_bank_account(merchant_id=merchant_id, currency=currency)
    if account is None:
        raise NoPayoutBankAccount(f"Merchant {merchant_id} has no bank account for payouts in {currency}.")
    threshold = approval_threshold(currency)
    now = clock.now()
    payout = Payout(
        merchant_id=account.merchant_id, livemode=livemode, currency=currency, amount=amount,
        bank_account_id=account.id, iban=account.iban, bic=account.bic, beneficiary_name=account.beneficiary_name,
        settlement_reference=reference, hold_until=account.payouts_held_until,
        needs_approval=threshold is None or amount >= threshold,
        merchant_payouts_held=selectors.merchant_payouts_held(account.merchant_id), created_by=actor.label,
        created_at=now, updated_at=now,
    )
    payout.end_to_end_id = end_to_end_id(payout.pk)
    try:
        with transaction.atomic():
            payout.hold_transfer_id = postings.payout_hold(payout)
            # Before the money can leave: a sanctions hit on the beneficiary holds the payout for review.
            payout.held_for_review = payout_beneficiary_screen(
                payout_id=str(payout.pk), beneficiary_name=account.beneficiary_name, merchant_id=account.merchant_id,
                livemode=livemode, iban=account.iban,
            ) is not None
            payout.save(force_insert=True)
            _journal(payout, "payout.created", actor=actor, after={
                "amount": amount, "currency": currency, "settlement": reference,
                "bank_account": ids.encode("ba", account.id), "iban": account.iban,
                "hold_until": account.payouts_held_until.isoformat(), "needs_approval": payout.needs_approval,
                "held_for_review": payout.held_for_review, "merchant_payouts_held": payout.merchant_payouts_held})
            _announce(payout, "payout.created")
    except IntegrityError:
        # Another run made this line's payout meanwhile (the unique reference decided).
        if existing := Payout.objects.filter(settlement_reference=reference).first():
            return _made_before(existing, **same)
        raise
    return payout


# --- the approval a large payout needs ---------------------------------------------------------


def payout_release_check(payout: Payout) -> None:
    """Whether a request to release ``payout`` may be made: pending, needing an approval it does not
    have. Raises PayoutApprovalNotNeeded, PayoutTransitionNotAllowed."""
    if not payout.needs_approval:
        raise PayoutApprovalNotNeeded(f"{Money(payout.amount, payout.currency).format()} is under the approval "
                                      f"threshold of {payout.currency}: it leaves without one.")
    if payout.approved_at is not None:
        raise PayoutTransitionNotAllowed(f"Approved already, by {payout.approved_by}.")
    if payout.status != Status.PENDING:
        raise PayoutTransitionNotAllowed(f"The payout is {payout.status}: only a pending payout is released.")


def payout_release(*, payout_id: Any, actor: Actor, reason: str) -> Payout:
    """Approve a payout that needs it (the maker-checker action ``payments.payout_release``: a treasury
    operator asks, a supervisor approves, and this runs as "maker, approved by checker"); it may
    leave with the next file once its hold has passed. Already approved: nothing changes.
    Raises PayoutNotFound, PayoutApprovalNotNeeded, PayoutTransitionNotAllowed."""
    with transaction.atomic():
        payout = _locked(payout_id=payout_id)
        if payout.approved_at is not None:
            return payout
        payout_release_check(payout)
        payout.approved_at, payout.approved_by = clock.now(), actor.label
        touch(payout, "approved_at", "approved_by")
        _journal(payout, "payout.approved", actor=actor, before={"approved": False}, after={"approved": True},
                 reason=reason)
        events_services.event_publish(event_type="payments.payout_approved",
                                      data={"object": payout_representation(payout)})
    return payout


# --- sending and what the bank says ------------------------------------------------------------


def _locked(*, payout_id: Any = None, end_to_end_id: str | None = None) -> Payout:
    if (payout_id is None) == (end_to_end_id is None):
        raise InvalidPayout("Name the payout by its id or by its end-to-end id, one of the two.")
    if isinstance(payout_id, str) and payout_id.startswith("po_"):
        payout_id = ids.decode("po", payout_id) or payout_id
    try:
        payout_pk = Payout.objects.filter(
            **({"pk": payout_id} if payout_id is not None else {"end_to_end_id": end_to_end_id})
        ).values_list("pk", flat=True).first()
    except (ValueError, TypeError, ValidationError) as malformed:  # a malformed id names no payout
        raise PayoutNotFound(f"No payout {payout_id!r}.") from malformed
    if payout_pk is None:
        raise PayoutNotFound(f"No payout {payout_id or end_to_end_id!r}.")
    return locks.payouts_lock([payout_pk])[0]


def _check_releasable(payout: Payout, now: Any) -> None:
    if payout.held_for_review or payout.merchant_payouts_held:
        raise PayoutNotReleasable(f"{ids.encode('po', payout.pk)} is held by compliance.")
    if payout.hold_until > now:
        raise PayoutNotReleasable(f"{ids.encode('po', payout.pk)} is held until {payout.hold_until:%Y-%m-%d %H:%M} "
                                  "UTC (its bank account changed less than 24 hours before).")
    if payout.needs_approval and payout.approved_at is None:
        raise PayoutNotReleasable(f"{ids.encode('po', payout.pk)} ({Money(payout.amount, payout.currency).format()}) "
                                  "needs a checker's approval first (request its release).")


def payouts_send(*, payout_ids: Iterable[Any], nostro: str, file_reference: str, actor: Actor) -> list[Payout]:
    """The payouts of one payment file (``file_reference``, the pain.001's message id) leave from the
    nostro ``nostro`` (our bank account's name in the ledger): each hold is posted (the money is in
    transit), each payout ``in_transit`` with ``payout.updated``. All of them or none.

    Each must be pending, past its hold and approved if it needs it (the database refuses it too).
    Payouts this file already sent (whatever happened to them since) are left as they are: sending
    the same file again changes nothing. Returns the payouts in id order. Raises InvalidPayout,
    PayoutNotFound, PayoutNotReleasable, PayoutTransitionNotAllowed (sent already in another file,
    or failed before it was sent).
    """
    payout_ids = list(dict.fromkeys(payout_ids))
    if not isinstance(nostro, str) or not nostro.strip() or len(nostro) > ACCOUNT_NAME_MAX_LENGTH:
        raise InvalidPayout(f"Name the nostro the payouts leave from: 1 to {ACCOUNT_NAME_MAX_LENGTH} characters.")
    if not isinstance(file_reference, str) or len(file_reference) > FILE_REFERENCE_MAX_LENGTH:
        raise InvalidPayout(f"A file reference has at most {FILE_REFERENCE_MAX_LENGTH} characters.")
    with transaction.atomic():
        try:
            payouts = locks.payouts_lock(payout_ids)
        except (ValueError, TypeError, ValidationError) as malformed:
            raise PayoutNotFound("A payout id is malformed.") from malformed
        if missing := {str(payout_id) for payout_id in payout_ids} - {str(payout.pk) for payout in payouts}:
            raise PayoutNotFound(f"No payouts {', '.join(sorted(missing))}.")
        now = clock.now()
        leaving = []
        for payout in payouts:
            if payout.status == Status.PENDING:
                _check_releasable(payout, now)
                leaving.append(payout)
            # Not pending: sent by this very file (only sending sets a nostro) is left as it is.
            elif (payout.nostro, payout.file_reference) != (nostro, file_reference):
                sent = f"sent in {payout.file_reference or 'no file'} from {payout.nostro}" if payout.nostro \
                    else "never sent"
                raise PayoutTransitionNotAllowed(f"{ids.encode('po', payout.pk)} is {payout.status} ({sent}).")
        payouts_leave(leaving, nostro=nostro, file_reference=file_reference, now=now, actor=actor)
    return payouts


def payouts_leave(leaving: list[Payout], *, nostro: str, file_reference: str, now: Any, actor: Actor,
                  fields: tuple[str, ...] = ()) -> None:
    """In the caller's transaction, with ``leaving`` locked, pending and releasable: post their
    holds (one batch) and move them ``in_transit`` from ``nostro`` in ``file_reference`` (one
    UPDATE), with their journal rows and ``payout.updated``; ``fields`` the caller set too are saved
    with them."""
    for payout, sent_transfer_id in zip(leaving, postings.payout_holds_post(leaving), strict=True):
        payout.nostro, payout.file_reference, payout.in_transit_at, payout.updated_at = (
            nostro, file_reference, now, now)
        payout.sent_transfer_id = sent_transfer_id
        status_set(payout, Status.IN_TRANSIT)
    # A file of a thousand payouts is one statement, not a thousand.
    Payout.objects.bulk_update(leaving, ["status", "nostro", "file_reference", "in_transit_at", "sent_transfer_id",
                                         "updated_at", *fields])
    for payout in leaving:
        _journal(payout, "payout.sent", actor=actor, before={"status": Status.PENDING},
                 after={"status": payout.status, "nostro": nostro, "file_reference": file_reference,
                        **({"connector": payout.connector} if payout.connector else {})})
        _announce(payout, "payout.updated")


def payout_paid(*, actor: Actor, payout_id: Any = None, end_to_end_id: str | None = None) -> Payout:
    """The bank confirmed the payout (by its id or its end-to-end id): payouts in transit -> the
    nostro it left from; ``paid`` with ``payout.paid``. Already paid (or returned since): nothing
    changes. Raises InvalidPayout, PayoutNotFound, PayoutTransitionNotAllowed (not sent, or failed)."""
    with transaction.atomic():
        payout = _locked(payout_id=payout_id, end_to_end_id=end_to_end_id)
        if payout.status in (Status.PAID, Status.RETURNED):
            return payout
        if payout.status != Status.IN_TRANSIT:
            raise PayoutTransitionNotAllowed(f"{ids.encode('po', payout.pk)} is {payout.status}: only a payout in "
                                             "transit is paid.")
        payout_paid_apply(payout, actor=actor)
    return payout


def payout_paid_apply(payout: Payout, *, actor: Actor, fields: tuple[str, ...] = ()) -> None:
    """In the caller's transaction, with ``payout`` locked and in transit: payouts in transit -> the
    nostro it left from, ``paid``, its journal row and ``payout.paid``; ``fields`` the caller set
    too are saved with it."""
    payout.paid_transfer_id = postings.payout_to_nostro(payout)
    payout.paid_at = clock.now()
    status_set(payout, Status.PAID)
    touch(payout, "status", "paid_at", "paid_transfer_id", *fields)
    _journal(payout, "payout.paid", actor=actor, before={"status": Status.IN_TRANSIT}, after={"status": payout.status})
    _announce(payout, "payout.paid")


def failure_reason(reason_code: Any, reason: Any) -> tuple[str, str]:
    """(code, message) as a failed or returned payout records them. Raises InvalidPayout (no code,
    or a longer one than REASON_CODE_MAX_LENGTH)."""
    if not isinstance(reason_code, str) or not reason_code.strip() or len(reason_code) > REASON_CODE_MAX_LENGTH:
        raise InvalidPayout(f"A reason code (an ISO 20022 status reason, AC04) of 1 to {REASON_CODE_MAX_LENGTH} "
                            "characters.")
    return reason_code.strip(), (reason if isinstance(reason, str) else "").strip()[:500]


def _failed(payout: Payout, status: str, back_transfer_id: UUID, code: str, message: str, actor: Actor,
            fields: tuple[str, ...] = ()) -> None:
    before = payout.status
    now = clock.now()
    payout.back_transfer_id, payout.failure_code, payout.failure_message = back_transfer_id, code, message
    timestamp = "failed_at" if status == Status.FAILED else "returned_at"
    setattr(payout, timestamp, now)
    status_set(payout, status)
    touch(payout, "status", timestamp, "back_transfer_id", "failure_code", "failure_message", *fields)
    _journal(payout, f"payout.{status}", actor=actor, before={"status": before},
             after={"status": status, "failure_code": code}, reason=message)
    _announce(payout, "payout.failed")


def payout_failed(*, reason_code: str, reason: str, actor: Actor, payout_id: Any = None,
                  end_to_end_id: str | None = None) -> Payout:
    """The payout was refused (``reason_code``: the bank's status reason, ``reason``: its words):
    pending, its hold is voided; in transit, payouts in transit -> merchant available. ``failed``
    with ``payout.failed``; the money is on the merchant's available balance again. Already failed:
    nothing changes. Raises InvalidPayout, PayoutNotFound, PayoutTransitionNotAllowed (paid: a
    payout the bank sends back is returned)."""
    code, message = failure_reason(reason_code, reason)
    with transaction.atomic():
        payout = _locked(payout_id=payout_id, end_to_end_id=end_to_end_id)
        if payout.status == Status.FAILED:
            return payout
        payout_failed_apply(payout, code=code, message=message, actor=actor)
    return payout


def payout_failed_apply(payout: Payout, *, code: str, message: str, actor: Actor,
                        fields: tuple[str, ...] = ()) -> None:
    """In the caller's transaction, with ``payout`` locked, and ``code`` and ``message`` from
    failure_reason: pending, its hold voided; in transit, payouts in transit -> merchant available;
    ``failed``, its journal row and ``payout.failed``; ``fields`` the caller set too are saved with
    it. Raises PayoutTransitionNotAllowed (paid or returned), before anything is written."""
    if payout.status == Status.PENDING:
        back = postings.payout_hold_void(payout)
    elif payout.status == Status.IN_TRANSIT:
        back = postings.payout_back_from_transit(payout)
    else:
        raise PayoutTransitionNotAllowed(f"{ids.encode('po', payout.pk)} is {payout.status}: a paid payout the "
                                         "bank sends back is returned, not failed.")
    _failed(payout, Status.FAILED, back, code, message, actor, fields)


def payout_returned(*, reason_code: str, reason: str, actor: Actor, payout_id: Any = None,
                    end_to_end_id: str | None = None) -> Payout:
    """A paid payout came back (the beneficiary's bank returned it): nostro -> merchant available;
    ``returned`` with ``payout.failed``. Already returned: nothing changes. Raises InvalidPayout,
    PayoutNotFound, PayoutTransitionNotAllowed (not paid)."""
    code, message = failure_reason(reason_code, reason)
    with transaction.atomic():
        payout = _locked(payout_id=payout_id, end_to_end_id=end_to_end_id)
        if payout.status == Status.RETURNED:
            return payout
        if payout.status != Status.PAID:
            raise PayoutTransitionNotAllowed(f"{ids.encode('po', payout.pk)} is {payout.status}: only a paid payout "
                                             "is returned.")
        _failed(payout, Status.RETURNED, postings.payout_back_from_nostro(payout), code, message, actor)
    return payout
