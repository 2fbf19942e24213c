"""Reading payments, refunds and payouts. API callers always pass their own merchant id and mode."""

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count, Min, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRole
from apps.payments.models import Payment, PaymentAttempt, Payout, Refund


def _with_attempts(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    return payments.prefetch_related(Prefetch("attempts", queryset=PaymentAttempt.objects.order_by("sequence")))


def payment_list(
    *,
    merchant_id: Any,
    livemode: bool,
    status: str | None = None,
    currency: str | None = None,
    method: str | None = None,
    reference: str | None = None,
    created_gte: datetime | None = None,
    created_lte: datetime | None = None,
) -> QuerySet[Payment]:
    payments = Payment.objects.filter(merchant_id=merchant_id, livemode=livemode)
    filters = {"status": status, "currency": currency, "method": method, "reference": reference,
               "created_at__gte": created_gte, "created_at__lte": created_lte}
    payments = payments.filter(**{name: value for name, value in filters.items() if value is not None})
    return _with_attempts(payments)


def payment_get(*, merchant_id: Any, livemode: bool, payment_id: UUID) -> Payment | None:
    return _with_attempts(Payment.objects.filter(merchant_id=merchant_id, livemode=livemode, pk=payment_id)).first()


def payment_by_id(payment_id: UUID) -> Payment:
    return _with_attempts(Payment.objects.filter(pk=payment_id)).get()


def refund_list(*, merchant_id: Any, livemode: bool, payment_id: UUID | None = None,
                status: str | None = None) -> QuerySet[Refund]:
    refunds = Refund.objects.filter(merchant_id=merchant_id, livemode=livemode)
    if payment_id is not None:
        refunds = refunds.filter(payment_id=payment_id)
    if status is not None:
        refunds = refunds.filter(status=status)
    return refunds


def refund_get(*, merchant_id: Any, livemode: bool, refund_id: UUID) -> Refund | None:
    return Refund.objects.filter(merchant_id=merchant_id, livemode=livemode, pk=refund_id).first()


def payout_list(
    *,
    merchant_id: Any,
    livemode: bool,
    status: str | None = None,
    currency: str | None = None,
    created_gte: datetime | None = None,
    created_lte: datetime | None = None,
) -> QuerySet[Payout]:
    filters = {"status": status, "currency": currency, "created_at__gte": created_gte, "created_at__lte": created_lte}
    return Payout.objects.filter(merchant_id=merchant_id, livemode=livemode,
                                 **{name: value for name, value in filters.items() if value is not None})


def payout_get(*, merchant_id: Any, livemode: bool, payout_id: UUID) -> Payout | None:
    return Payout.objects.filter(merchant_id=merchant_id, livemode=livemode, pk=payout_id).first()


def payout_get_any(payout_id: Any) -> Payout | None:
    """Any merchant's payout by its id (staff, maker-checker); None when there is none or the id is malformed."""
    try:
        return Payout.objects.filter(pk=payout_id).first()
    except (ValueError, ValidationError):
        return None


def payouts_releasable(*, currency: str, livemode: bool, now: datetime) -> list[Payout]:
    """The pending payouts of ``currency`` and mode that may leave at ``now``: their hold has passed
    and they need no approval or have it. Oldest first (from the partial index of pending payouts)."""
    return list(
        Payout.objects.filter(status=Payout.Status.PENDING, currency=currency, livemode=livemode, hold_until__lte=now)
        .filter(Q(needs_approval=False) | Q(approved_at__isnull=False)).order_by("pk")
    )


def merchant_balance(*, merchant_id: UUID, livemode: bool, currencies: list[str]) -> list[dict[str, object]]:
    """Per currency: ``pending`` (captured, not yet settled), ``available`` (settled, payable),
    ``reserve`` (held back); each net of money held for refunds in flight."""
    balances = ledger_selectors.merchant_account_balances(merchant_id=merchant_id, livemode=livemode)

    def available(currency: str, code: AccountRole) -> int:
        balance = balances.get((currency, code))
        return balance.available if balance else 0

    return [
        {"currency": currency, "pending": available(currency, AccountRole.MERCHANT_PENDING),
         "available": available(currency, AccountRole.MERCHANT_AVAILABLE),
         "reserve": available(currency, AccountRole.MERCHANT_RESERVE)}
        for currency in currencies
    ]


# --- figures for the back office's dashboard -----------------------------------------------


@dataclass(frozen=True)
class PaymentVolume:
    """Payments created on one local day, in one mode, by one method, in one currency."""

    day: date
    livemode: bool
    method: str
    currency: str
    count: int
    succeeded: int
    captured: int  # minor units of ``currency``


def payment_volume_by_day(*, since: datetime, tz: tzinfo) -> list[PaymentVolume]:
    """Payments created at or after ``since``, per day (in ``tz``), mode, method and currency: how
    many, how many succeeded, and the amount captured. One range read of the created_at index."""
    rows = (
        Payment.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day", "livemode", "method", "currency")
        .annotate(
            count=Count("id"),
            succeeded=Count("id", filter=Q(status=Payment.Status.SUCCEEDED)),
            captured=Sum("amount_captured"),
        )
        .order_by("day", "-livemode", "method", "currency")
    )
    return [
        PaymentVolume(
            day=row["day"], livemode=row["livemode"], method=row["method"], currency=row["currency"],
            count=row["count"], succeeded=row["succeeded"], captured=int(row["captured"] or 0),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ReviewQueue:
    count: int
    oldest_since: datetime | None  # when the longest-waiting attempt last changed


def attempts_needing_review() -> ReviewQueue:
    """Attempts a person must act on (the admin's "attempts needing review"), from their partial index."""
    row = PaymentAttempt.objects.filter(needs_review=True).aggregate(n=Count("id"), oldest=Min("updated_at"))
    return ReviewQueue(count=row["n"], oldest_since=row["oldest"])
