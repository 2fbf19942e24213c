"""Reads of the exception queue: open breaks by age, and what a break could be linked with."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from apps.reconciliation.models import BankStatementLine, Break, BreakStatus, Expectation, ExpectationState

# The queue's age bands: a break a day old is normal (the bank books tomorrow), three days is late.
# A counterpart is offered when its amount is within this share of the break's and its date a week off.
CANDIDATE_AMOUNT_SHARE = 0.1
CANDIDATE_DAYS = 7
CANDIDATE_LIMIT = 10


@dataclass(frozen=True)
class AgeBand:
    label: str
    count: int
    older_than: timedelta


def open_breaks_by_age(*, now: datetime) -> tuple[AgeBand, ...]:
    """How many breaks are open in each age band, youngest first (one query)."""
    day, three = now - timedelta(days=1), now - timedelta(days=3)
    counts = Break.objects.filter(status=BreakStatus.OPEN).aggregate(
        young=Count("pk", filter=Q(opened_at__gt=day)),
        middle=Count("pk", filter=Q(opened_at__lte=day, opened_at__gt=three)),
        old=Count("pk", filter=Q(opened_at__lte=three)),
    )
    return (AgeBand("under a day", counts["young"], timedelta(0)),
            AgeBand("1 to 3 days", counts["middle"], timedelta(days=1)),
            AgeBand("over 3 days", counts["old"], timedelta(days=3)))


def _close(amount: int) -> tuple[int, int]:
    spread = max(int(abs(amount) * CANDIDATE_AMOUNT_SHARE), 1)
    low, high = amount - spread, amount + spread
    # Never across zero: money in never settles money out.
    return (max(low, 1), high) if amount > 0 else (low, min(high, -1))


def expectation_candidates(found: Break) -> QuerySet[Expectation]:
    """Open expectations a statement line's break could be linked with: same nostro and currency,
    same sign, a close amount and a date within a week of the line's booking date."""
    low, high = _close(found.amount)
    day = found.line.booking_date
    return (Expectation.objects.filter(nostro_id=found.nostro_id, currency=found.currency, amount__gte=low,
                                       amount__lte=high,
                                       expected_date__range=(day - timedelta(days=CANDIDATE_DAYS),
                                                             day + timedelta(days=CANDIDATE_DAYS)))
            .exclude(state=ExpectationState.RECONCILED).order_by("expected_date")[:CANDIDATE_LIMIT])


def line_candidates(found: Break) -> QuerySet[BankStatementLine]:
    """Unmatched statement lines a missing expectation's break could be linked with."""
    low, high = _close(found.amount)
    day = found.expectation.expected_date
    return (BankStatementLine.objects.filter(statement__nostro_id=found.nostro_id, currency=found.currency,
                                             amount__gte=low, amount__lte=high, match_line__isnull=True,
                                             booking_date__range=(day - timedelta(days=CANDIDATE_DAYS),
                                                                  day + timedelta(days=CANDIDATE_DAYS)))
            .select_related("statement").order_by("booking_date", "pk")[:CANDIDATE_LIMIT])
