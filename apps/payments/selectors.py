"""Reading payments, refunds and payouts. API callers always pass their own merchant id and mode."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Min, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from apps.ledger import selectors as ledger_selectors
from apps.ledger.data import AccountRole
from apps.payments.data import CapturedTotal, CapturePrice, SucceededRefund
from apps.payments.models import MerchantPayoutHold, Payment, PaymentAttempt, Payout, Refund


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
    except (ValueError, TypeError, ValidationError):
        return None


def merchant_payouts_held(merchant_id: Any) -> bool:
    """Whether compliance holds the merchant's payouts now (a MerchantPayoutHold not lifted)."""
    return MerchantPayoutHold.objects.filter(merchant_id=merchant_id, lifted_at__isnull=True).exists()


def payouts_releasable(*, currency: str, livemode: bool, now: datetime) -> list[Payout]:
    """The pending payouts of ``currency`` and mode that may leave at ``now``: their hold has passed,
    they need no approval or have it, and compliance holds neither them nor their merchant's payouts
    (a payout made while a merchant hold was being placed is skipped too, by the hold's row). Oldest
    first (from the partial index of pending payouts)."""
    held_merchants = MerchantPayoutHold.objects.filter(lifted_at__isnull=True).values("merchant_id")
    return list(
        Payout.objects.filter(status=Payout.Status.PENDING, currency=currency, livemode=livemode, hold_until__lte=now,
                              held_for_review=False, merchant_payouts_held=False)
        .filter(Q(needs_approval=False) | Q(approved_at__isnull=False))
        .exclude(merchant_id__in=held_merchants).order_by("pk")
    )


def payouts_not_left(*, currency: str, livemode: bool) -> list[Payout]:
    """The payouts of ``currency`` and mode whose money has not left a nostro yet: pending ones
    (scheduled: not yet in a payout file), and those sent in a payout file that the bank has not
    confirmed. Payouts sent by an instant rail are left out (they leave from the rail's clearing
    account, not a nostro). Treasury's forecast reads them (through settlement, which dates them)."""
    return list(
        Payout.objects.filter(currency=currency, livemode=livemode)
        .filter(Q(status=Payout.Status.PENDING) | Q(status=Payout.Status.IN_TRANSIT, connector=""))
        .only("id", "currency", "amount", "status", "hold_until", "nostro").order_by("pk")
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


# --- what settlement reads -----------------------------------------------------------------------

# A capture's fee as settlement prices it (apps.settlement.domain.fees.payment_fee): the exact
# percentage plus the fixed part, clamped to the line's bounds, then rounded once by
# ``money_round`` (apps/core migration 0003). Written once here so the run and the report agree.
# ``* 0.01``, not ``/ 100``: numeric multiplication is exact, while PostgreSQL gives a quotient only
# about 16 significant digits, so a fee of 10^12 minor units and more lost its last decimals.
_FEE_EXACT = """
    CASE WHEN price.minimum IS NOT NULL AND p.amount_captured * price.percent * 0.01 + price.fixed < price.minimum
              THEN price.minimum::numeric
         WHEN price.maximum IS NOT NULL AND p.amount_captured * price.percent * 0.01 + price.fixed > price.maximum
              THEN price.maximum::numeric
         ELSE p.amount_captured * price.percent * 0.01 + price.fixed END"""

# Each capture's fee is computed once, in a subquery the planner keeps (OFFSET 0): inlined into the
# aggregate, money_round would repeat its argument, the whole fee expression, a dozen times a row
# (bench/settlement.py measured 12 s against 2.7 s for a million captures).
_CAPTURED_TOTALS = f"""
    SELECT merchant_id, livemode, count(*), sum(amount_captured),
           coalesce(sum(money_round(exact, rounding)), 0), coalesce(sum(exact), 0),
           count(*) FILTER (WHERE priced IS NULL), array_agg(DISTINCT method) FILTER (WHERE priced IS NULL)
    FROM (SELECT p.merchant_id, p.livemode, p.amount_captured, p.method, price.method AS priced, price.rounding,
                 {_FEE_EXACT} AS exact
          FROM payments_payment p
          LEFT JOIN unnest(%(merchants)s::uuid[], %(methods)s::text[], %(percents)s::numeric[], %(fixed)s::bigint[],
                           %(minimums)s::bigint[], %(maximums)s::bigint[], %(roundings)s::text[])
               AS price(merchant_id, method, percent, fixed, minimum, maximum, rounding)
               ON price.merchant_id = p.merchant_id AND price.method = p.method
          WHERE p.currency = %(currency)s AND p.captured_at >= %(start)s AND p.captured_at < %(end)s
          OFFSET 0) fee
    GROUP BY merchant_id, livemode
    ORDER BY merchant_id, livemode
"""


def captured_totals(*, currency: str, start: datetime, end: datetime,
                    prices: list[CapturePrice]) -> list[CapturedTotal]:
    """Per merchant and mode, the captures of ``currency`` in ``[start, end)`` and their fees under
    ``prices`` (one per merchant and method), in one aggregate query where the rows are: a business
    date of a million payments is summed without leaving PostgreSQL."""
    parameters = {
        "currency": currency, "start": start, "end": end,
        "merchants": [price.merchant_id for price in prices], "methods": [price.method for price in prices],
        "percents": [price.percent for price in prices], "fixed": [price.fixed for price in prices],
        "minimums": [price.minimum for price in prices], "maximums": [price.maximum for price in prices],
        "roundings": [price.rounding for price in prices],
    }
    with connection.cursor() as cursor:
        cursor.execute(_CAPTURED_TOTALS, parameters)
        return [CapturedTotal(merchant_id=row[0], livemode=row[1], captures=row[2], gross=int(row[3]), fees=int(row[4]),
                              fees_exact=row[5], unpriced=row[6], unpriced_methods=tuple(sorted(row[7] or ())))
                for row in cursor.fetchall()]


_CAPTURE_FEES = f"""
    SELECT p.id, p.amount_captured, p.method, p.captured_at, money_round(fee.exact, price.rounding), fee.exact
    FROM payments_payment p
    JOIN unnest(%(methods)s::text[], %(percents)s::numeric[], %(fixed)s::bigint[], %(minimums)s::bigint[],
                %(maximums)s::bigint[], %(roundings)s::text[])
         AS price(method, percent, fixed, minimum, maximum, rounding) ON price.method = p.method
    CROSS JOIN LATERAL (SELECT {_FEE_EXACT} AS exact) fee
    WHERE p.merchant_id = %(merchant)s AND p.livemode = %(livemode)s AND p.currency = %(currency)s
      AND p.captured_at >= %(start)s AND p.captured_at < %(end)s
    ORDER BY p.captured_at, p.id
"""


@dataclass(frozen=True, slots=True)
class CaptureFee:
    payment_id: UUID
    amount: int
    method: str
    captured_at: datetime
    fee: int
    fee_exact: Decimal


def capture_fees(*, merchant_id: UUID, livemode: bool, currency: str, start: datetime, end: datetime,
                 prices: list[CapturePrice]) -> Iterator[CaptureFee]:
    """One merchant's captures in ``[start, end)``, each with its fee (a settlement report's rows),
    streamed in capture order through a server-side cursor: a day of a million captures is never
    held by this process."""
    parameters = {
        "merchant": merchant_id, "livemode": livemode, "currency": currency, "start": start, "end": end,
        "methods": [price.method for price in prices], "percents": [price.percent for price in prices],
        "fixed": [price.fixed for price in prices], "minimums": [price.minimum for price in prices],
        "maximums": [price.maximum for price in prices], "roundings": [price.rounding for price in prices],
    }
    with connection.chunked_cursor() as cursor:
        cursor.execute(_CAPTURE_FEES, parameters)
        while rows := cursor.fetchmany(2000):
            for row in rows:
                yield CaptureFee(payment_id=row[0], amount=row[1], method=row[2], captured_at=row[3], fee=row[4],
                                 fee_exact=row[5])


def refunds_succeeded(*, currency: str, start: datetime, end: datetime,
                      merchant_ids: list[UUID] | None = None) -> list[SucceededRefund]:
    """The refunds of ``currency`` that succeeded in ``[start, end)`` (of these merchants, if
    given), oldest first, each with its payment and the part that came out of pending."""
    refunds = (Refund.objects.filter(currency=currency, status=Refund.Status.SUCCEEDED, resolved_at__gte=start,
                                     resolved_at__lt=end)
               .select_related("payment").order_by("resolved_at", "id"))
    if merchant_ids is not None:
        refunds = refunds.filter(merchant_id__in=merchant_ids)
    refunds = list(refunds)
    holds = ledger_selectors.transfer_amounts([r.pending_hold_id for r in refunds if r.pending_hold_id])
    earlier = _refunded_before(refunds)
    return [SucceededRefund(
        refund_id=refund.pk, merchant_id=refund.merchant_id, livemode=refund.livemode, amount=refund.amount,
        from_pending=holds.get(refund.pending_hold_id, 0) if refund.pending_hold_id else 0,
        payment_id=refund.payment_id, payment_method=refund.payment.method,
        payment_amount_captured=refund.payment.amount_captured, payment_captured_at=refund.payment.captured_at,
        refunded_before=earlier[refund.pk],
    ) for refund in refunds]


def _refunded_before(refunds: list[Refund]) -> dict[UUID, int]:
    """For each refund, its payment's succeeded refunds resolved before it."""
    succeeded = (Refund.objects.filter(payment_id__in={r.payment_id for r in refunds}, status=Refund.Status.SUCCEEDED)
                 .order_by("payment_id", "resolved_at", "id").values_list("pk", "payment_id", "amount"))
    before: dict[UUID, int] = {}
    running: dict[UUID, int] = {}
    for refund_id, payment_id, amount in succeeded:
        before[refund_id] = running.get(payment_id, 0)
        running[payment_id] = before[refund_id] + amount
    return before


def payouts_of_file(*, file_reference: str) -> list[Payout]:
    """The payouts a payment file sent (its pain.001 message id), in id order."""
    return list(Payout.objects.filter(file_reference=file_reference).order_by("pk"))


def payouts_sent_by_file(*, since: datetime) -> list[Payout]:
    """Live payouts that left in a payment file (no instant rail) at or after ``since``, whatever
    became of them since, oldest first: what reconciliation expects on the nostros' statements."""
    return list(Payout.objects.filter(livemode=True, connector="", in_transit_at__gte=since)
                .exclude(file_reference="").order_by("in_transit_at", "pk"))


@dataclass(frozen=True, slots=True)
class ConnectorNet:
    """One connector's captures and succeeded refunds of one currency and mode in a period."""

    connector: str
    captured: int
    refunded: int

    @property
    def net(self) -> int:
        return self.captured - self.refunded


def connector_nets(*, currency: str, livemode: bool, start: datetime, end: datetime) -> list[ConnectorNet]:
    """Per connector, the payments of ``currency`` captured in ``[start, end)`` (their captured
    amount, as settlement counts them) and the refunds that succeeded in it, by connector name:
    what each acquirer should settle for the period. Two aggregate queries on indexed columns.

    Wallet payments are left out: their money moves between fincore's own ledger accounts (the
    customer's wallet through its wallet connector's clearing to the merchant), and no bank ever
    settles it."""
    captured = dict(Payment.objects.filter(currency=currency, livemode=livemode, captured_at__gte=start,
                                           captured_at__lt=end).exclude(method=Payment.Method.WALLET)
                    .values_list("connector").annotate(total=Sum("amount_captured")).order_by())
    refunded = dict(Refund.objects.filter(currency=currency, livemode=livemode, status=Refund.Status.SUCCEEDED,
                                          resolved_at__gte=start, resolved_at__lt=end)
                    .exclude(payment__method=Payment.Method.WALLET)
                    .values_list("connector").annotate(total=Sum("amount")).order_by())
    return [ConnectorNet(connector=name, captured=int(captured.get(name) or 0), refunded=int(refunded.get(name) or 0))
            for name in sorted(captured.keys() | refunded.keys())]
