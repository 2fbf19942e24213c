"""The books proven against the bank: the nostro's ledger balance at a statement's end against its
closing balance, a difference raised as an alert, and the nightly report of agreed balances."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.events.outbox import subscriptions
from apps.events.outbox.models import OutboxMessage
from apps.reconciliation.exceptions import StatementNotProvable
from apps.reconciliation.models import BalanceProof
from apps.reconciliation.services import proof
from apps.reconciliation.tasks.proof import prove
from tests.reconciliation.breaks_world import money_arrived, nostro, statement

pytestmark = pytest.mark.django_db

BAHRAIN = ZoneInfo("Asia/Bahrain")


@pytest.fixture
def monday() -> date:
    """A Monday some weeks after the real now: the tests travel forward to it, never behind rows
    written at the present (the nostros)."""
    day = clock.now().date() + timedelta(days=30)
    return day + timedelta(days=-day.weekday() % 7)


@pytest.fixture(autouse=True)
def _listener(monkeypatch):
    monkeypatch.setattr(subscriptions, "_subscriptions", {})
    subscriptions.subscribe(proof.BALANCE_DIFFERS, task="tests.record_event", queue="default")


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BAHRAIN)


def test_the_proof_agrees_when_the_ledger_holds_what_the_bank_closed_with(monday):
    nostro()
    with time_machine.travel(_at(monday, 10), tick=False):
        money_arrived(12_500)
    with time_machine.travel(_at(monday + timedelta(days=1), 9), tick=False):
        money_arrived(700)  # the next day's: not in Monday's statement
        stmt = statement(12_500, closing_balance=12_500, closing_date=monday)
        found = proof.balance_prove(statement_id=stmt.pk)

    assert (found.status, found.ledger_balance, found.statement_balance, found.difference) == (
        "agreed", 12_500, 12_500, 0)
    assert found.as_of == datetime(monday.year, monday.month, monday.day, 23, 59, 59, 999999, tzinfo=BAHRAIN)
    assert not AuditEvent.objects.filter(action=proof.BALANCE_DIFFERS).exists()
    assert not OutboxMessage.objects.exists()


def test_a_difference_is_journaled_and_published_once_with_the_figures(monday):
    nostro()
    with time_machine.travel(_at(monday, 10), tick=False):
        money_arrived(12_000)
        stmt = statement(12_500, closing_balance=12_500, closing_date=monday)
        found = proof.balance_prove(statement_id=stmt.pk)

    assert (found.status, found.ledger_balance, found.statement_balance, found.difference) == (
        "differs", 12_000, 12_500, -500)
    [event] = AuditEvent.objects.filter(action=proof.BALANCE_DIFFERS)
    assert (event.after["ledger_balance"], event.after["statement_balance"], event.after["difference"]) == (
        12_000, 12_500, -500)
    [message] = OutboxMessage.objects.all()
    assert message.kwargs["event"]["type"] == proof.BALANCE_DIFFERS
    assert message.kwargs["event"]["data"]["difference"] == -500


def test_a_statement_without_a_closing_balance_is_not_proven():
    nostro()
    stmt = statement(12_500)  # as a camt.054 or MT942: no closing balance
    with pytest.raises(StatementNotProvable):
        proof.balance_prove(statement_id=stmt.pk)
    assert not BalanceProof.objects.exists()


def test_the_nightly_proof_proves_new_statements_and_reports_each_nostros_last_agreed_balance(monday):
    nostro()
    nostro("bbk-bhd-02")
    with time_machine.travel(_at(monday, 10), tick=False):
        money_arrived(12_500)
        money_arrived(3_000, code="bbk-bhd-02")
        statement(12_500, closing_balance=12_500, closing_date=monday)
        statement(3_100, closing_balance=3_100, closing_date=monday, code="bbk-bhd-02")
    with time_machine.travel(_at(monday + timedelta(days=1), 3), tick=False):
        lines = prove()

    assert BalanceProof.objects.count() == 2
    assert "statements proven: 2, differing: 1" in lines
    assert f"nbb-bhd-01: 12.500 BHD agreed on {monday.isoformat()}" in lines
    assert not any(line.startswith("bbk-bhd-02") for line in lines)
    [journaled] = AuditEvent.objects.filter(action="reconciliation.nightly_proof")
    assert journaled.after["agreed_balances"] == [
        {"nostro": "nbb-bhd-01", "currency": "BHD", "balance": 12_500, "closing_date": monday.isoformat()}]
    # Breaks were opened for the lines nothing matched.
    assert journaled.after["proven"] == 2
    with time_machine.travel(_at(monday + timedelta(days=2), 3), tick=False):
        prove()
    assert BalanceProof.objects.count() == 2  # proven once; a re-proof is asked for by name
