"""The hold-expiry sweep reads only recent deadlines, and stops cleanly at its time limit."""

from concurrent.futures import TimeoutError as FutureTimeoutError
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit import tasks as audit_tasks
from apps.ledger import data, engine, selectors, services, tasks
from apps.ledger.models import Account, Transfer, Watermark
from tests.factories.ledger import client_id, fund, funding, wallet

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _funded_wallet(*, at: datetime) -> tuple[Account, Account]:
    """A funding account and a wallet it paid 1,000, made at ``at``: inside the travel, so no
    posting on them is stamped later than the holds a test makes from then on."""
    with time_machine.travel(at, tick=False):
        source, customer = funding(), wallet()
        fund(customer, 1_000)
    return source, customer


def _hold(debit, credit, *, timeout: int) -> Transfer:
    [outcome] = engine.post([data.TransferSpec(
        client_id=client_id("hold"), kind=data.Kind.PENDING, debit_account_id=debit.pk, credit_account_id=credit.pk,
        amount=100, currency="BHD", timeout_seconds=timeout,
    )])
    assert outcome.result == data.Result.OK
    return Transfer.objects.get(pk=outcome.transfer_id)


def _status(hold: Transfer) -> str:
    resolution = selectors.resolutions_of([hold.pk]).get(hold.pk)
    return resolution.kind if resolution else "open"


def _due_query(queries: CaptureQueriesContext) -> str:
    [sql] = [q["sql"] for q in queries.captured_queries if '"ledger_transfer"."expires_at" <=' in q["sql"]]
    return sql


def test_each_run_reads_deadlines_only_from_where_the_last_complete_run_stopped(monkeypatch):
    due = selectors.pending_transfers_due
    source, customer = _funded_wallet(at=T0 - timedelta(hours=1))
    with time_machine.travel(T0, tick=False):
        first = _hold(customer, source, timeout=60)
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False), CaptureQueriesContext(connection) as queries:
        assert services.pending_transfers_expire() == 1
    # The first run has no watermark and reads every past deadline.
    assert '"ledger_transfer"."expires_at" >=' not in _due_query(queries)
    assert Watermark.objects.get().value == T0 + timedelta(minutes=5)

    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        second = _hold(customer, source, timeout=60)
    reads = []
    monkeypatch.setattr(selectors, "pending_transfers_due", lambda **kwargs: reads.append(kwargs) or due(**kwargs))
    with time_machine.travel(T0 + timedelta(hours=2), tick=False), CaptureQueriesContext(connection) as queries:
        assert services.pending_transfers_expire() == 1
    # Later runs start EXPIRY_OVERLAP before the last complete one.
    assert '"ledger_transfer"."expires_at" >=' in _due_query(queries)
    assert reads[0]["since"] == T0 + timedelta(minutes=5) - services.EXPIRY_OVERLAP
    assert (_status(first), _status(second)) == ("expire_pending", "expire_pending")


def test_a_hold_committed_late_still_expires_within_the_overlap():
    source, customer = _funded_wallet(at=T0 - timedelta(hours=1))
    with time_machine.travel(T0, tick=False):
        services.pending_transfers_expire()  # watermark at T0
    # A hold whose deadline fell just before the watermark (a slow commit, a skewed clock).
    with time_machine.travel(T0 - services.EXPIRY_OVERLAP + timedelta(minutes=1) - timedelta(seconds=30), tick=False):
        late = _hold(customer, source, timeout=30)
    with time_machine.travel(T0 + timedelta(seconds=10), tick=False):
        assert services.pending_transfers_expire() == 1
    assert _status(late) == "expire_pending"


def test_the_watermark_waits_while_a_run_leaves_work_behind():
    source, customer = _funded_wallet(at=T0 - timedelta(hours=1))
    with time_machine.travel(T0, tick=False):
        holds = [_hold(customer, source, timeout=1) for _ in range(3)]
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        assert services.pending_transfers_expire(limit=2) == 2
        assert not Watermark.objects.exists()  # two of three: there may be more
        assert services.pending_transfers_expire(limit=2) == 1
    assert Watermark.objects.get().value == T0 + timedelta(minutes=1)
    assert {_status(hold) for hold in holds} == {"expire_pending"}


def test_the_expiry_task_stops_cleanly_at_its_soft_time_limit(monkeypatch):
    batches = iter([5, 7])

    def expire_until_the_limit() -> int:
        expired = next(batches, None)
        if expired is None:
            raise SoftTimeLimitExceeded()
        return expired

    monkeypatch.setattr(services, "pending_transfers_expire", expire_until_the_limit)
    # Returning (not raising) acknowledges the message: no dead letter, the next run goes on.
    assert tasks.expire_pending() == 12


def test_the_sealing_task_stops_cleanly_at_its_soft_time_limit(monkeypatch):
    batches = iter([3])

    def seal_until_the_limit() -> int:
        sealed = next(batches, None)
        if sealed is None:
            raise SoftTimeLimitExceeded()
        return sealed

    monkeypatch.setattr(audit_tasks.services, "audit_seal_pending", seal_until_the_limit)
    assert audit_tasks.seal() == 3


def test_a_transfer_whose_batch_is_late_answers_503_ledger_busy(monkeypatch, merchant_client):
    source = merchant_client.post("/api/v1/accounts", {"currency": "BHD", "allow_overdraft": True}, format="json")
    target = merchant_client.post("/api/v1/accounts", {"currency": "BHD"}, format="json")

    def late(spec: data.TransferSpec) -> data.Outcome:
        raise FutureTimeoutError()

    monkeypatch.setattr(services.committer, "submit", late)
    response = merchant_client.post("/api/v1/transfers", {
        "debit_account": source.json()["id"], "credit_account": target.json()["id"], "amount": 1, "currency": "BHD",
    }, format="json", HTTP_IDEMPOTENCY_KEY="late-one")

    assert response.status_code == 503
    assert response.json()["code"] == "ledger_busy"
    assert response["Retry-After"] == "1"
    assert not Transfer.objects.exists()
