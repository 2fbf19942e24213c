"""Sweeps between nostros: a treasury operator asks to move money from one of fincore's bank
accounts to another of the same currency; the maker-checker policy of ``treasury.sweep`` (a
threshold per currency) decides whether a second person approves first.

``sweep_request`` checks the sweep, stores it ``requested`` and makes the maker-checker request in
one transaction: under the threshold compliance executes it at once, in that same transaction.
``sweep_execute`` (the action's service) posts one ledger transfer — debit the receiving nostro,
credit the paying one — writes the pain.001 through the writer settlement registered, stores it
with its SHA-256 and marks the sweep sent, journaled and announced, all in one transaction: a
crash anywhere leaves the sweep as it was, and executing it again posts once (the transfer's
client id is the sweep's, and a sent sweep is returned as it is).

Lock order: the approval request (compliance), the paying nostro's row, then the ledger's accounts.
"""

import hashlib
from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from django.db import transaction

from apps.audit.services import audit_record
from apps.compliance import services as compliance_services
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.core.currencies import LARGEST_AMOUNT
from apps.core.exceptions import FincoreError
from apps.core.money import Money
from apps.events.outbox import services as events_services
from apps.ledger import data as ledger_data
from apps.ledger import services as ledger_services
from apps.treasury.data import SweepFileWriter, SweepInstruction
from apps.treasury.models import NostroAccount, Sweep
from apps.treasury.selectors import nostros as nostro_selectors
from apps.treasury.selectors import sweeps as selectors

SWEEP = "treasury.sweep"
Status = Sweep.Status


class SweepRefused(FincoreError):
    code = "sweep_refused"
    title = "The sweep was refused"
    status = 422


class SweepNostroUnknown(SweepRefused):
    code = "sweep_nostro_unknown"
    title = "There is no such nostro account"


class SweepSameNostro(SweepRefused):
    code = "sweep_same_nostro"
    title = "A sweep moves money between two different nostros"


class SweepCurrencyMismatch(SweepRefused):
    code = "sweep_currency_mismatch"
    title = "A sweep moves money between nostros of one currency"


class SweepAmountInvalid(SweepRefused):
    code = "sweep_amount_invalid"
    title = "The amount is a positive whole number of minor units"


class SweepExceedsBalance(SweepRefused):
    code = "sweep_exceeds_balance"
    title = "The paying nostro does not hold that much"


class SweepNotFound(SweepRefused):
    code = "sweep_not_found"
    title = "There is no such sweep"
    status = 404


class SweepClosed(SweepRefused):
    code = "sweep_closed"
    title = "The sweep was rejected or cancelled"
    status = 409


_file_writer: list[SweepFileWriter] = []


def sweep_file_writer_register(writer: SweepFileWriter) -> None:
    """Settlement's pain.001 writer, handed over in its ``AppConfig.ready`` (treasury sits below
    settlement and may not import it). Registering it again replaces it."""
    _file_writer[:] = [writer]


def _file_write(instruction: SweepInstruction) -> bytes:
    if not _file_writer:
        raise RuntimeError("no sweep file writer is registered (settlement registers it when Django starts)")
    return _file_writer[0](instruction)


def sweep_public_id(sweep_id: UUID) -> str:
    return ids.encode("swp", sweep_id)


def sweep_end_to_end_id(sweep_id: UUID) -> str:
    """``SW`` and the id's 26 characters: no ``_``, which banks' character set lacks; 28 of 35."""
    return "SW" + sweep_public_id(sweep_id).removeprefix("swp_")


def sweep_check(*, from_nostro: str, to_nostro: str, amount: Any) -> tuple[NostroAccount, NostroAccount]:
    """The two accounts of a sweep of ``amount`` minor units, once it is one fincore may make.

    Raises SweepNostroUnknown, SweepSameNostro, SweepCurrencyMismatch, SweepAmountInvalid,
    SweepExceedsBalance (the paying nostro's ledger balance is less than the amount)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= LARGEST_AMOUNT:
        raise SweepAmountInvalid(f"{amount!r} is not a positive whole number of minor units.")
    if from_nostro == to_nostro:
        raise SweepSameNostro(f"{from_nostro} would pay itself.")
    accounts = {account.code: account for account in NostroAccount.objects.filter(code__in=[from_nostro, to_nostro])}
    for code in (from_nostro, to_nostro):
        if code not in accounts:
            raise SweepNostroUnknown(f"There is no nostro account {code!r}.")
    paying, receiving = accounts[from_nostro], accounts[to_nostro]
    if paying.currency != receiving.currency:
        raise SweepCurrencyMismatch(f"{paying.code} holds {paying.currency}, {receiving.code} {receiving.currency}.")
    held = selectors.nostro_money_at_bank(code=paying.code, currency=paying.currency)
    if held < amount:
        raise SweepExceedsBalance(
            f"{paying.code} holds {Money(held, paying.currency).format()} in the ledger; "
            f"{Money(amount, paying.currency).format()} cannot leave it.")
    return paying, receiving


def _state(sweep: Sweep) -> dict[str, Any]:
    return {"status": sweep.status, "currency": sweep.currency, "from_nostro": sweep.from_nostro_id,
            "to_nostro": sweep.to_nostro_id, "amount": sweep.amount, "execution_date": sweep.execution_date.isoformat(),
            "end_to_end_id": sweep.end_to_end_id, "file_sha256": sweep.file_sha256,
            "transfer_id": str(sweep.transfer_id) if sweep.transfer_id else None}


def _journal(sweep: Sweep, step: str, *, actor: Actor, reason: str = "", before: dict[str, Any] | None = None) -> None:
    audit_record(actor=actor, action=f"treasury.sweep_{step}", object_type="treasury.sweep",
                 object_id=sweep_public_id(sweep.pk), before=before, after=_state(sweep), reason=reason)


def sweep_request(*, user: Any, from_nostro: str, to_nostro: str, amount: Any, execution_date: date,
                  reason: str) -> Sweep:
    """Ask, as ``user`` (the maker), to move ``amount`` minor units from ``from_nostro`` to
    ``to_nostro`` on ``execution_date``. The sweep is stored ``requested`` together with its
    maker-checker request; under the policy's threshold it is executed at once and returned sent.

    Raises what ``sweep_check`` raises, SweepRefused (no reason; or executed at once and refused
    then), and compliance's NotAMaker (``user`` lacks ``treasury.request_sweep``): nothing is
    stored on any refusal."""
    if not reason.strip():
        raise SweepRefused("Say why: the checker and the journal read it.")
    with transaction.atomic():
        paying, _receiving = sweep_check(from_nostro=from_nostro, to_nostro=to_nostro, amount=amount)
        sweep = Sweep(currency=paying.currency, from_nostro_id=from_nostro, to_nostro_id=to_nostro, amount=amount,
                      execution_date=execution_date, requested_by=user.get_username(), reason=reason,
                      created_at=clock.now())
        sweep.end_to_end_id = sweep_end_to_end_id(sweep.pk)
        sweep.save(force_insert=True)
        _journal(sweep, "requested", actor=Actor.staff(user), reason=reason)
        approval = compliance_services.approval_request_create(
            action=SWEEP, arguments={"sweep_id": str(sweep.pk)}, user=user, reason=reason)
        Sweep.objects.filter(pk=sweep.pk).update(approval_request=approval.pk)
        if approval.state == approval.State.FAILED:
            # Executed at once and refused there: the request and the sweep go with the refusal.
            raise SweepRefused(approval.outcome)
    sweep.refresh_from_db()
    return sweep


def sweep_close(arguments: Mapping[str, Any], state: str, actor: Actor) -> None:
    """The sweep's approval request ended without sending it (maker-checker's ``closed`` hook):
    rejected by a checker, or refused when run, makes it ``rejected``; not approved in time,
    ``cancelled``. Journaled; a sweep no longer waiting is left as it is."""
    with transaction.atomic():
        sweep = Sweep.objects.select_for_update().filter(pk=arguments.get("sweep_id")).first()
        if sweep is None or sweep.status != Status.REQUESTED:
            return
        before = _state(sweep)
        sweep.status = Status.CANCELLED if state == "expired" else Status.REJECTED
        sweep.save(update_fields=["status"])
        _journal(sweep, sweep.status, actor=actor, before=before)


def sweep_execute(*, sweep_id: Any, actor: Actor, reason: str) -> str:
    """Send sweep ``sweep_id``: one ledger transfer (debit the receiving nostro, credit the paying
    one, client id ``fincore:sweep:<id>``: a prefix no merchant may use), its pain.001 written by the
    registered writer and stored with its SHA-256, status ``sent``, journaled
    (``treasury.sweep_approved``, ``treasury.sweep_sent``) and published (``treasury.sweep_sent``) —
    all or nothing. A sweep already sent is left as it is.

    Raises SweepNotFound, SweepClosed (rejected or cancelled), what ``sweep_check`` raises (the
    balance is read again: it may have fallen since the request), the ledger's TransferRefused and
    the writer's refusal of a file; nothing changes then."""
    with transaction.atomic():
        sweep = Sweep.objects.select_for_update().filter(pk=sweep_id).first()
        if sweep is None:
            raise SweepNotFound(f"There is no sweep {sweep_id}.")
        if sweep.status == Status.SENT:
            return f"{sweep_public_id(sweep.pk)} was sent already."
        if sweep.status in (Status.REJECTED, Status.CANCELLED):
            raise SweepClosed(f"{sweep_public_id(sweep.pk)} is {sweep.get_status_display().lower()}.")
        # The paying nostro's row serialises sweeps out of it: two cannot both pass the balance check.
        NostroAccount.objects.select_for_update().filter(code=sweep.from_nostro_id).get()
        paying, receiving = sweep_check(from_nostro=sweep.from_nostro_id, to_nostro=sweep.to_nostro_id,
                                        amount=sweep.amount)
        if sweep.status == Status.REQUESTED:
            before = _state(sweep)
            sweep.status = Status.APPROVED
            sweep.save(update_fields=["status"])
            _journal(sweep, "approved", actor=actor, reason=reason, before=before)
        public_id = sweep_public_id(sweep.pk)
        posted = ledger_services.transfer_create(spec=ledger_data.TransferSpec(
            client_id=f"{ledger_data.RESERVED_CLIENT_ID_PREFIX}sweep:{sweep.pk}",
            debit_account_ref=ledger_data.AccountRef(ledger_data.AccountRole.NOSTRO, sweep.currency, True,
                                                     name=receiving.code),
            credit_account_ref=ledger_data.AccountRef(ledger_data.AccountRole.NOSTRO, sweep.currency, True,
                                                      name=paying.code),
            amount=sweep.amount, currency=sweep.currency, livemode=True, code="sweep", reference=public_id,
            metadata={"sweep": public_id, "end_to_end_id": sweep.end_to_end_id}, created_by=actor.label,
        ))
        now = clock.now()
        document = _file_write(SweepInstruction(
            public_id=public_id, end_to_end_id=sweep.end_to_end_id, amount=sweep.amount, currency=sweep.currency,
            execution_date=sweep.execution_date, debtor=nostro_selectors.nostro_of(paying),
            creditor=nostro_selectors.nostro_of(receiving), created_at=now))
        before = _state(sweep)
        sweep.file, sweep.file_sha256 = document, hashlib.sha256(document).hexdigest()
        sweep.transfer_id, sweep.sent_at, sweep.status = posted.transfer.pk, now, Status.SENT
        sweep.save(update_fields=["file", "file_sha256", "transfer_id", "sent_at", "status"])
        _journal(sweep, "sent", actor=actor, reason=reason, before=before)
        events_services.event_publish(event_type="treasury.sweep_sent", data={
            "sweep": public_id, "end_to_end_id": sweep.end_to_end_id, "currency": sweep.currency,
            "amount": sweep.amount, "from_nostro": paying.code, "to_nostro": receiving.code,
            "execution_date": sweep.execution_date.isoformat(), "transfer_id": str(posted.transfer.pk),
            "file_sha256": sweep.file_sha256})
    return f"Sent {public_id}: {Money(sweep.amount, sweep.currency).format()} from {paying.code} to {receiving.code}."

