"""Group commit: concurrent single transfers from outside a transaction share engine batches;
inside a transaction a transfer is posted in the caller's own."""

import threading
import time

import pytest
from django.db import DataError, transaction

from apps.ledger import engine, group_commit, services
from apps.ledger.data import Result
from apps.ledger.models import Transfer
from tests.factories import ledger as factories
from tests.ledger.conftest import in_threads

CALLERS = 24


@pytest.fixture
def batch_sizes(monkeypatch) -> list[int]:
    """Records the size of every batch the engine posts; each takes a little longer than usual,
    so that requests arriving meanwhile queue up for the next one."""
    sizes: list[int] = []
    real_post = engine.post

    def recorded_post(specs):
        sizes.append(len(specs))
        time.sleep(0.02)
        return real_post(specs)

    monkeypatch.setattr(engine, "post", recorded_post)
    return sizes


@pytest.mark.django_db(transaction=True)
def test_callers_on_one_hot_account_each_get_their_own_outcome_and_share_batches(
    idle_sessions_ended_at_exit, batch_sizes
):
    hot = factories.wallet()
    factories.fund(hot, 1_000)
    payees = [factories.wallet(merchant_id=hot.merchant_id) for _ in range(CALLERS)]
    batch_sizes.clear()

    def pay(number: int):
        spec = factories.spec(hot, payees[number], 60, client_id=f"pay-{number}")
        try:
            return services.transfer_create(spec=spec)
        except services.InsufficientFunds as refused:
            return refused

    outcomes = in_threads(pay, CALLERS)

    posted = [o for o in outcomes if isinstance(o, services.Posted)]
    refused = [o for o in outcomes if isinstance(o, services.InsufficientFunds)]
    assert (len(posted), len(refused)) == (16, 8)  # 16 x 60 fit in 1,000; the 17th would not
    for number, outcome in enumerate(outcomes):
        if isinstance(outcome, services.Posted):
            # Each caller gets its own transfer, not a neighbour's from the same batch.
            assert (outcome.created, outcome.transfer.client_id, outcome.transfer.credit_account_id,
                    outcome.transfer.amount) == (True, f"pay-{number}", payees[number].pk, 60)
            assert factories.balances(payees[number]) == (0, 0, 0, 60)
        else:
            assert (outcome.code, outcome.result) == ("insufficient_funds", Result.EXCEEDS_CREDITS)
            assert factories.balances(payees[number]) == (0, 0, 0, 0)
            assert not Transfer.objects.filter(client_id=f"pay-{number}").exists()
    assert factories.balances(hot) == (0, 960, 0, 1_000)
    assert sum(batch_sizes) == CALLERS
    assert max(batch_sizes) > 1, batch_sizes
    assert len(set(Transfer.objects.filter(client_id__startswith="pay-").values_list("created_at", flat=True))) < 16


@pytest.mark.django_db(transaction=True)
def test_a_retry_in_the_same_batch_finds_the_first(idle_sessions_ended_at_exit, batch_sizes):
    wallet = factories.wallet()
    source = factories.funding()

    def send(_: int):
        return services.transfer_create(spec=factories.spec(source, wallet, 5, client_id="same-request"))

    outcomes = in_threads(send, 6)

    assert sorted(o.created for o in outcomes) == [False] * 5 + [True]
    assert len({o.transfer.pk for o in outcomes}) == 1
    assert factories.balances(wallet) == (0, 0, 0, 5)


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_transfer_is_posted_in_it_and_rolls_back_with_it(
    idle_sessions_ended_at_exit, batch_sizes
):
    wallet = factories.wallet()
    source = factories.funding()
    batch_sizes.clear()

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        posted = services.transfer_create(spec=factories.spec(source, wallet, 5, client_id="in-tx"))
        assert posted.created
        assert factories.balances(wallet) == (0, 0, 0, 5)  # visible in the caller's transaction
        raise Abandoned

    assert not Transfer.objects.filter(client_id="in-tx").exists()
    assert factories.balances(wallet) == (0, 0, 0, 0)
    assert batch_sizes == [1]  # posted by the caller's thread, directly

    with transaction.atomic():
        services.transfer_create(spec=factories.spec(source, wallet, 7, client_id="kept"))
    assert factories.balances(wallet) == (0, 0, 0, 7)


@pytest.mark.django_db(transaction=True)
def test_a_failing_batch_raises_its_error_in_every_waiter(idle_sessions_ended_at_exit, monkeypatch):
    wallet = factories.wallet()
    source = factories.funding()
    calls = []
    release = threading.Event()

    def broken_post(specs):
        calls.append(len(specs))
        release.wait(5)  # let the other callers queue behind this batch
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(engine, "post", broken_post)

    def send(number: int):
        if number == 0:
            time.sleep(0.3)
            release.set()
        try:
            services.transfer_create(spec=factories.spec(source, wallet, 1, client_id=f"down-{number}"))
        except ConnectionError as error:
            return str(error)
        return "posted"

    assert in_threads(send, 8) == ["database unreachable"] * 8
    assert sum(calls) >= 8 and max(calls) > 1
    monkeypatch.undo()
    # The committer lives on: the next request is posted.
    assert services.transfer_create(spec=factories.spec(source, wallet, 1, client_id="after")).created
    assert factories.balances(wallet) == (0, 0, 0, 1)


@pytest.mark.django_db(transaction=True)
def test_a_value_the_database_refuses_fails_only_its_own_request(idle_sessions_ended_at_exit, batch_sizes):
    wallet = factories.wallet()
    source = factories.funding()
    batch_sizes.clear()

    def send(number: int):
        # PostgreSQL's jsonb cannot hold a NUL character: this one request is bad.
        metadata = {"note": "bad\u0000"} if number == 3 else {"note": "fine"}
        try:
            return services.transfer_create(spec=factories.spec(source, wallet, 1, client_id=f"mixed-{number}",
                                                                 metadata=metadata)).created
        except DataError:
            return "refused by the database"

    outcomes = in_threads(send, 8)

    assert outcomes == [True, True, True, "refused by the database", True, True, True, True]
    assert factories.balances(wallet) == (0, 0, 0, 7)
    assert max(batch_sizes) > 1, batch_sizes  # the bad request did share a batch with others


def test_a_linked_transfer_is_refused_outside_a_batch():
    with pytest.raises(ValueError, match="a linked transfer belongs in a batch with its chain"):
        group_commit.committer.submit(factories.spec(None, None, 1, linked=True))
