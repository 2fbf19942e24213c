"""Reads of expectations: the open and overdue ones, and what settled one."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from apps.reconciliation.models import BankStatementLine, Expectation, ExpectationState, MatchExpectation, MatchLine

OPEN_STATES = (ExpectationState.UNRECONCILED, ExpectationState.PARTIALLY_RECONCILED)


def expectations_open(*, nostro_code: str | None = None) -> QuerySet[Expectation]:
    """Expectations no line has fully settled yet (missing ones included: a late line still settles them)."""
    found = Expectation.objects.filter(state__in=[*OPEN_STATES, ExpectationState.MISSING])
    return found.filter(nostro_id=nostro_code) if nostro_code else found


def expectations_overdue(*, now: datetime) -> QuerySet[Expectation]:
    """Unreconciled or partially reconciled past their SLA: what the missing sweep moves."""
    return Expectation.objects.filter(state__in=OPEN_STATES, missing_after__lte=now)


@dataclass(frozen=True, slots=True)
class SettledBy:
    """One match that settled (part of) an expectation: how much of it, and the lines it used."""

    match_id: UUID
    kind: str
    rule: str
    created_at: datetime
    created_by: str
    amount: int
    lines: tuple[BankStatementLine, ...]


def expectation_settled_by(expectation_id: UUID) -> list[SettledBy]:
    """The matches of one expectation, oldest first, each with its statement lines (three queries)."""
    rows = (MatchExpectation.objects.filter(expectation_id=expectation_id)
            .select_related("match__rule")
            .prefetch_related(Prefetch("match__lines", queryset=MatchLine.objects.select_related(
                "line__statement").order_by("line__booking_date", "line_id")))
            .order_by("match__created_at", "match_id"))
    return [SettledBy(match_id=row.match_id, kind=row.match.kind, rule=row.match.rule.name if row.match.rule else "",
                      created_at=row.match.created_at, created_by=row.match.created_by, amount=row.amount,
                      lines=tuple(match_line.line for match_line in row.match.lines.all()))
            for row in rows]
