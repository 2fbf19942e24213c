"""Captured payments and succeeded refunds as settlement finds them: rows written straight to
their tables at a chosen instant, with the ledger postings the payment flow makes (connector
clearing → merchant pending; a refund's holds on pending, then available, posted). No connector
is called: settlement only reads what a capture and a refund left behind.

And the week the settlement tests live in, one home for all of them: April 2031 in Bahrain,
Sunday 6 to Thursday 10 business dates (Eid al-Adha ends on Friday 4), ``at`` an instant of it,
``settle`` a business date's run after its cut-off, ``merchant_balance`` what the run moved."""

from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import time_machine

from apps.core.actors import Actor
from apps.core.ids import uuid7
from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRef, AccountRole
from apps.payments import postings
from apps.payments.models import Payment, Refund
from apps.settlement import services
from apps.settlement.models import SettlementRun

CONNECTOR = "sandbox_acquirer"
BAHRAIN = ZoneInfo("Asia/Bahrain")
# A Monday of business dates all around it (Sunday 6 to Thursday 10 April 2031).
SUNDAY, MONDAY, TUESDAY, WEDNESDAY = date(2031, 4, 6), date(2031, 4, 7), date(2031, 4, 8), date(2031, 4, 9)
ACTOR = Actor.system("tests")
# Beat's run an hour after the 17:00 cut-off.
RUN_TIME = time(18)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """``hour``:``minute`` of ``day`` in Bahrain."""
    return datetime.combine(day, time(hour, minute), BAHRAIN)


def merchant_balance(merchant, role: AccountRole, *, livemode: bool = True) -> int:
    """The posted balance of ``merchant``'s BHD account of ``role``."""
    ref = AccountRef(role, "BHD", livemode, merchant_id=merchant.pk)
    return ledger_selectors.role_account_balances(ref=ref).posted


def settle(traveller, day: date, *, currency: str = "BHD", run_at: time = RUN_TIME) -> SettlementRun:
    """Move ``traveller`` to ``run_at`` on ``day`` (after its cut-off) and run ``day``'s run there."""
    traveller.move_to(datetime.combine(day, run_at, BAHRAIN))
    return services.settlement_run(business_date=day, currency=currency, actor=ACTOR)


def captured(merchant, amount: int, *, at: datetime, method: str = "card", livemode: bool = True,
             currency: str = "BHD") -> Payment:
    payment = Payment.objects.create(
        id=uuid7(), merchant_id=merchant.pk, livemode=livemode, amount=amount, currency=currency, country="BH",
        method=method, payment_method={"type": method, "token": "tok_visa"}, priority=5, status="succeeded",
        amount_authorized=amount, amount_captured=amount, captured_at=at, connector=CONNECTOR, created_at=at,
        updated_at=at)
    postings.capture_post(payment, amount=amount)
    return payment


def refunded(payment: Payment, amount: int, *, at: datetime, succeeded: bool = True) -> Refund:
    """A refund of ``amount`` of ``payment``: held (from pending, then available) at ``at`` and,
    if ``succeeded``, paid then too."""
    refund = Refund.objects.create(
        id=uuid7(), payment=payment, merchant_id=payment.merchant_id, livemode=payment.livemode, amount=amount,
        currency=payment.currency, connector=CONNECTOR, idempotency_key=f"re-{uuid7()}", created_by="test",
        status="succeeded" if succeeded else "pending", created_at=at, updated_at=at,
        resolved_at=at if succeeded else None)
    holds = postings.refund_holds(payment, refund)
    refund.pending_hold_id, refund.available_hold_id = holds.pending_hold_id, holds.available_hold_id
    refund.save(update_fields=["pending_hold_id", "available_hold_id"])
    Payment.objects.filter(pk=payment.pk).update(amount_refund_reserved=payment.amount_refund_reserved + amount,
                                                 amount_refunded=payment.amount_refunded + (amount if succeeded else 0))
    if succeeded:
        postings.refund_holds_post(payment, refund)
    return refund


def settled_day(merchant, amounts: Sequence[int] = (12_500,), *, day: date = MONDAY,
                method: str = "card") -> SettlementRun:
    """``merchant``'s captures of ``amounts`` on business date ``day`` (from 10:00, a minute apart,
    in Bahrain) and its BHD run after the cut-off: built inside a travel to that day, as beat's run
    would find and settle them. The clock is back where it was on return."""
    with time_machine.travel(at(day, 9), tick=False) as traveller:
        for minute, amount in enumerate(amounts):
            captured(merchant, amount, at=at(day, 10, minute), method=method)
        return settle(traveller, day)
