"""Reads for matching: the rules, which nostros have lines to match, and the settled connector
settlements not posted yet."""

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from django.db import connection
from django.db.models import Exists, OuterRef

from apps.reconciliation.models import BankStatement, BankStatementLine, MatchingRule, MatchLine


def rules_enabled() -> list[MatchingRule]:
    return list(MatchingRule.objects.filter(enabled=True).order_by("priority"))


def rules() -> list[MatchingRule]:
    return list(MatchingRule.objects.order_by("priority"))


def nostros_to_match(*, nostro_code: str | None = None, statement_id: UUID | None = None) -> list[str]:
    """``nostro_code``; or the statement's nostro; or every nostro with a line no match holds."""
    if nostro_code is not None:
        return [nostro_code]
    if statement_id is not None:
        return list(BankStatement.objects.filter(pk=statement_id).values_list("nostro_id", flat=True))
    unmatched = BankStatementLine.objects.filter(statement_id=OuterRef("pk")).exclude(
        Exists(MatchLine.objects.filter(line_id=OuterRef("pk"))))
    return sorted(set(BankStatement.objects.filter(Exists(unmatched)).values_list("nostro_id", flat=True)))


@dataclass(frozen=True, slots=True)
class SettlementRow:
    id: int  # the MatchExpectation
    match_id: UUID
    expectation_id: UUID
    amount: int
    currency: str
    connector: str
    reference: str
    booking_date: date


def settlement_rows_unposted(*, nostro_code: str) -> list[SettlementRow]:
    """The match rows of the nostro's reconciled connector settlements (with a connector named in
    their metadata) that no posting has been made for, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.id, m.match_id, m.expectation_id, m.amount, e.currency, e.metadata->>'connector', e.reference, "
            "(SELECT max(l.booking_date) FROM reconciliation_matchline ml "
            " JOIN reconciliation_bankstatementline l ON l.id = ml.line_id WHERE ml.match_id = m.match_id) "
            "FROM reconciliation_matchexpectation m JOIN reconciliation_expectation e ON e.id = m.expectation_id "
            "WHERE e.nostro_code = %s AND e.source = 'connector_settlement' AND e.state = 'reconciled' "
            "AND m.transfer_id IS NULL AND coalesce(e.metadata->>'connector', '') <> '' ORDER BY m.id",
            [nostro_code])
        return [SettlementRow(*row) for row in cursor.fetchall()]
