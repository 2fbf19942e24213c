"""The ledger transfers of each payment step (DESIGN.md's chart of accounts).

    capture                  connector clearing(connector) -> merchant pending
    wallet payment           customer wallet -> connector clearing(its wallet connector)   (a hold when
                             captured later)
    refund reserved          merchant pending, then merchant available -> connector clearing (holds)
    refund paid              the holds posted; for a wallet payment also clearing(wallet) -> wallet
    payout made              merchant available -> payouts in transit (a hold)
    payout sent              the hold posted
    payout paid              payouts in transit -> nostro(the bank account it left from), or, sent by
                             an instant rail, -> connector clearing(the rail): the rail debits our
                             settlement with it, which reconciliation sees as nostro -> clearing
    payout failed            the hold voided (not sent), or payouts in transit -> merchant available
    payout returned          nostro (or the rail's clearing) -> merchant available

Accounts are named by role (the customer's wallet, opened by the merchant, by id); the ledger
finds each, or opens it, in the posting's own transaction. Every transfer's client id is
derived from the payment's or refund's public id with the ledger's reserved prefix: a replay of
a step finds the first transfer instead of posting again. Called inside the caller's
transaction, so the money moves with the state change or not at all.
"""

from dataclasses import dataclass, replace
from uuid import UUID

from django.db import transaction

from apps.core import ids
from apps.core.actors import Actor
from apps.ledger import data as ledger_data
from apps.ledger import selectors as ledger_selectors
from apps.ledger import services as ledger_services
from apps.ledger.data import AccountRef, AccountRole
from apps.ledger.services import TransferRefused
from apps.payments.exceptions import InsufficientBalance, PayoutExceedsAvailable
from apps.payments.models import Payment, Payout, Refund

CREATED_BY = "payments"
LINKED_EVENT_FAILED = ledger_data.Result.LINKED_EVENT_FAILED.value
ACTOR = Actor.system(CREATED_BY)


def payment_client_id(payment: Payment, step: str) -> str:
    return f"{ledger_data.RESERVED_CLIENT_ID_PREFIX}{ids.encode('pay', payment.pk)}:{step}"


def refund_client_id(refund: Refund, step: str) -> str:
    return f"{ledger_data.RESERVED_CLIENT_ID_PREFIX}{ids.encode('re', refund.pk)}:{step}"


def _merchant_account(payment: Payment, role: AccountRole) -> AccountRef:
    """The merchant's ``role`` account in the payment's currency and mode."""
    return AccountRef(role, payment.currency, payment.livemode, merchant_id=payment.merchant_id)


def _clearing_account(payment: Payment, connector: str) -> AccountRef:
    """The connector's clearing account in the payment's currency and mode."""
    return AccountRef(AccountRole.CONNECTOR_CLEARING, payment.currency, payment.livemode, name=connector)


def wallet_account_id(payment: Payment) -> UUID:
    account_id = ids.decode("acc", payment.payment_method.get("account", ""))
    assert account_id is not None, "a wallet payment names its wallet"
    return account_id


def _spec(payment: Payment, *, client_id: str, **fields: object) -> ledger_data.TransferSpec:
    return ledger_data.TransferSpec(
        client_id=client_id, merchant_id=payment.merchant_id, livemode=payment.livemode,
        currency=payment.currency, reference=ids.encode("pay", payment.pk), created_by=CREATED_BY,
        **fields,  # type: ignore[arg-type]
    )


def _capture_spec(payment: Payment, *, amount: int) -> ledger_data.TransferSpec:
    return _spec(
        payment, client_id=payment_client_id(payment, "capture"), kind=ledger_data.Kind.IMMEDIATE,
        debit_account_ref=_clearing_account(payment, payment.connector),
        credit_account_ref=_merchant_account(payment, AccountRole.MERCHANT_PENDING), amount=amount, code="capture",
    )


def capture_post(payment: Payment, *, amount: int) -> UUID:
    """What the connector captured becomes the merchant's pending balance."""
    return ledger_services.transfer_create(spec=_capture_spec(payment, amount=amount)).transfer.pk


def approval_post(payment: Payment, *, automatic: bool) -> UUID | None:
    """The transfers of an approved payment, in one engine call, all or none: a wallet payment's
    debit of the wallet (or, captured later, its hold on it), then, captured at once, the
    capture. Returns the wallet hold's id, if one was made. Raises TransferRefused (a wallet's
    InsufficientFunds), nothing posted then."""
    specs = []
    if payment.method == Payment.Method.WALLET:
        step, kind = ("wallet_debit", ledger_data.Kind.IMMEDIATE) if automatic else (
            "wallet_hold", ledger_data.Kind.PENDING)
        specs.append(_spec(
            payment, client_id=payment_client_id(payment, step), kind=kind, debit_account_id=wallet_account_id(payment),
            credit_account_ref=_clearing_account(payment, payment.connector), amount=payment.amount,
            code="wallet_payment",
        ))
    if automatic:
        specs.append(_capture_spec(payment, amount=payment.amount))
    if not specs:
        return None
    # Linked by hand, not atomic=True: a refusal is then the refused transfer's own error.
    linked = [replace(spec, linked=index < len(specs) - 1) for index, spec in enumerate(specs)]
    items = ledger_services.transfers_batch(specs=linked, atomic=False)
    refusals = [item.refusal for item in items if item.refusal is not None]
    if refusals:
        # The transfer refused for itself, not one refused because its chain was.
        raise next((refusal for refusal in refusals if refusal.code != LINKED_EVENT_FAILED), refusals[0])
    return items[0].transfer.pk if payment.method == Payment.Method.WALLET and not automatic else None


def wallet_hold_post(payment: Payment, *, amount: int) -> None:
    """Take ``amount`` of the hold; the rest goes back to the wallet."""
    ledger_services.transfer_post_pending(
        pending_id=payment.wallet_hold_id, amount=amount, merchant_id=payment.merchant_id,
        livemode=payment.livemode, client_id=payment_client_id(payment, "wallet_hold_post"),
        actor=ACTOR,
    )


def wallet_hold_void(payment: Payment) -> None:
    ledger_services.transfer_void_pending(
        pending_id=payment.wallet_hold_id, merchant_id=payment.merchant_id, livemode=payment.livemode,
        client_id=payment_client_id(payment, "wallet_hold_void"), actor=ACTOR,
    )


@dataclass(frozen=True)
class RefundHolds:
    pending_hold_id: UUID | None
    available_hold_id: UUID | None


# A refund of another payment of the same merchant may take the pending balance between our read
# and our hold; the split is then read again.
_HOLD_TRIES = 3


def refund_holds(payment: Payment, refund: Refund) -> RefundHolds:
    """Reserve the refund's money: from the merchant's pending balance first, the rest from
    available. Raises InsufficientBalance when the two together do not cover it."""
    clearing = _clearing_account(payment, refund.connector)
    pending_account = _merchant_account(payment, AccountRole.MERCHANT_PENDING)
    available_account = _merchant_account(payment, AccountRole.MERCHANT_AVAILABLE)
    for _ in range(_HOLD_TRIES):
        # Posted less outgoing holds, as it stands now (0 while the account is not opened).
        unheld = max(ledger_selectors.role_account_balances(ref=pending_account).available, 0)
        from_pending = min(refund.amount, unheld)
        holds: dict[str, UUID | None] = {"pending_hold_id": None, "available_hold_id": None}
        try:
            with transaction.atomic():
                for field, account, amount, step in (
                    ("pending_hold_id", pending_account, from_pending, "hold_pending"),
                    ("available_hold_id", available_account, refund.amount - from_pending, "hold_available"),
                ):
                    if amount:
                        spec = _spec(
                            payment, client_id=refund_client_id(refund, step), kind=ledger_data.Kind.PENDING,
                            debit_account_ref=account, credit_account_ref=clearing, amount=amount, code="refund",
                            metadata={"refund": ids.encode("re", refund.pk)},
                        )
                        holds[field] = ledger_services.transfer_create(spec=spec).transfer.pk
        except TransferRefused as refused:
            if refused.code != "exceeds_credits":
                raise
            continue
        return RefundHolds(**holds)
    raise InsufficientBalance(
        f"Refunds are paid from your pending balance, then your available balance, in {payment.currency} "
        f"({'live' if payment.livemode else 'test'} mode): together they are below {refund.amount}."
    )


def _holds(refund: Refund) -> list[tuple[str, UUID]]:
    return [(step, hold) for step, hold in (("pending", refund.pending_hold_id),
                                            ("available", refund.available_hold_id)) if hold]


def refund_holds_post(payment: Payment, refund: Refund) -> None:
    """Pay the refund: post its holds; a wallet payment's refund goes on to the wallet."""
    for step, hold in _holds(refund):
        ledger_services.transfer_post_pending(
            pending_id=hold, merchant_id=payment.merchant_id, livemode=payment.livemode,
            client_id=refund_client_id(refund, f"post_{step}"), actor=ACTOR,
        )
    if payment.method == Payment.Method.WALLET:
        spec = _spec(
            payment, client_id=refund_client_id(refund, "wallet_credit"), kind=ledger_data.Kind.IMMEDIATE,
            debit_account_ref=_clearing_account(payment, payment.connector),
            credit_account_id=wallet_account_id(payment), amount=refund.amount, code="refund",
            metadata={"refund": ids.encode("re", refund.pk)},
        )
        ledger_services.transfer_create(spec=spec)


def refund_holds_void(payment: Payment, refund: Refund) -> None:
    for step, hold in _holds(refund):
        ledger_services.transfer_void_pending(
            pending_id=hold, merchant_id=payment.merchant_id, livemode=payment.livemode,
            client_id=refund_client_id(refund, f"void_{step}"), actor=ACTOR,
        )


# --- payouts -----------------------------------------------------------------------------------


def payout_client_id(payout: Payout, step: str) -> str:
    return f"{ledger_data.RESERVED_CLIENT_ID_PREFIX}{ids.encode('po', payout.pk)}:{step}"


def _payout_spec(payout: Payout, *, step: str, **fields: object) -> ledger_data.TransferSpec:
    return ledger_data.TransferSpec(
        client_id=payout_client_id(payout, step), merchant_id=payout.merchant_id, livemode=payout.livemode,
        currency=payout.currency, reference=ids.encode("po", payout.pk), created_by=CREATED_BY, code="payout",
        metadata={"settlement": payout.settlement_reference, "end_to_end_id": payout.end_to_end_id},
        **fields,  # type: ignore[arg-type]
    )


def _payout_account(payout: Payout, role: AccountRole) -> AccountRef:
    if role is AccountRole.MERCHANT_AVAILABLE:
        return AccountRef(role, payout.currency, payout.livemode, merchant_id=payout.merchant_id)
    if role is AccountRole.NOSTRO:
        if payout.connector:  # left by an instant rail: what we owe the rail, in its clearing account
            return AccountRef(AccountRole.CONNECTOR_CLEARING, payout.currency, payout.livemode, name=payout.connector)
        return AccountRef(role, payout.currency, payout.livemode, name=payout.nostro)
    return AccountRef(role, payout.currency, payout.livemode)


def payout_hold(payout: Payout) -> UUID:
    """Hold the payout's amount on the merchant's available balance. Raises PayoutExceedsAvailable."""
    spec = _payout_spec(
        payout, step="hold", kind=ledger_data.Kind.PENDING, amount=payout.amount,
        debit_account_ref=_payout_account(payout, AccountRole.MERCHANT_AVAILABLE),
        credit_account_ref=_payout_account(payout, AccountRole.PAYOUTS_IN_TRANSIT),
    )
    try:
        return ledger_services.transfer_create(spec=spec).transfer.pk
    except TransferRefused as refused:
        if refused.code != "exceeds_credits":
            raise
        available = ledger_selectors.role_account_balances(ref=spec.debit_account_ref).available
        raise PayoutExceedsAvailable(
            f"The merchant's available balance is {available} in {payout.currency}, less than {payout.amount}.",
            available=available,
        ) from refused


def payout_holds_post(payouts: list[Payout]) -> list[UUID]:
    """The payouts of a file left: their held money is in transit. One ledger batch, all or none
    (a file of a thousand payouts locks payouts in transit once, not a thousand times)."""
    specs = [
        ledger_data.TransferSpec(
            client_id=payout_client_id(payout, "send"), kind=ledger_data.Kind.POST_PENDING,
            pending_id=payout.hold_transfer_id, merchant_id=payout.merchant_id, livemode=payout.livemode,
            created_by=CREATED_BY,
        )
        for payout in payouts
    ]
    if not specs:
        return []
    return [item.transfer.pk for item in ledger_services.transfers_batch(specs=specs, atomic=True)]


def payout_hold_void(payout: Payout) -> UUID:
    """The payout never left: its money is free on the merchant's available balance again."""
    return ledger_services.transfer_void_pending(
        pending_id=payout.hold_transfer_id, merchant_id=payout.merchant_id, livemode=payout.livemode,
        client_id=payout_client_id(payout, "void"), actor=ACTOR,
    ).transfer.pk


def _payout_move(payout: Payout, step: str, debit: AccountRole, credit: AccountRole) -> UUID:
    spec = _payout_spec(payout, step=step, kind=ledger_data.Kind.IMMEDIATE, amount=payout.amount,
                        debit_account_ref=_payout_account(payout, debit),
                        credit_account_ref=_payout_account(payout, credit))
    return ledger_services.transfer_create(spec=spec).transfer.pk


def payout_to_nostro(payout: Payout) -> UUID:
    """The bank confirmed it: the money left our nostro."""
    return _payout_move(payout, "paid", AccountRole.PAYOUTS_IN_TRANSIT, AccountRole.NOSTRO)


def payout_back_from_transit(payout: Payout) -> UUID:
    """Sent and refused: the money in transit is the merchant's again."""
    return _payout_move(payout, "failed", AccountRole.PAYOUTS_IN_TRANSIT, AccountRole.MERCHANT_AVAILABLE)


def payout_back_from_nostro(payout: Payout) -> UUID:
    """Paid, then sent back to our nostro: the merchant's again."""
    return _payout_move(payout, "returned", AccountRole.NOSTRO, AccountRole.MERCHANT_AVAILABLE)
