"""Balances now and as of any instant, and statements with their running balances."""

from datetime import timedelta

from apps.core import clock
from apps.ledger import selectors
from apps.ledger.data import Kind, Result
from apps.ledger.models import Account
from tests.factories import ledger as factories


def test_balances_as_of_each_instant_are_the_balances_then(db, time_machine):
    start = clock.now().replace(microsecond=0) + timedelta(days=1)
    time_machine.move_to(start, tick=False)
    wallet = factories.wallet()
    source = factories.fund(wallet, 500)  # t0: +500
    time_machine.move_to(start + timedelta(minutes=1), tick=False)
    hold = factories.post_one(wallet, source, 120, kind=Kind.PENDING)  # t1: 120 held
    time_machine.move_to(start + timedelta(minutes=2), tick=False)
    factories.post_one(wallet, source, 30)  # t2: 30 paid
    time_machine.move_to(start + timedelta(minutes=3), tick=False)
    post = factories.post_one(None, None, 100, currency=None, kind=Kind.POST_PENDING, pending_id=hold.transfer_id)
    assert post.result == Result.OK  # t3: 100 of the hold posted, 20 released

    wallet = Account.objects.get(pk=wallet.pk)
    expected = [
        (start - timedelta(seconds=1), (0, 0, 0, 0)),
        (start, (0, 0, 0, 500)),
        (start + timedelta(seconds=59), (0, 0, 0, 500)),
        (start + timedelta(minutes=1), (120, 0, 0, 500)),
        (start + timedelta(minutes=2, seconds=30), (120, 30, 0, 500)),
        (start + timedelta(minutes=3), (0, 130, 0, 500)),
        (start + timedelta(days=9), (0, 130, 0, 500)),
        (None, (0, 130, 0, 500)),
    ]
    for instant, counters in expected:
        balances = selectors.account_balances(account=wallet, as_of=instant)
        assert (balances.currency, balances.debits_pending, balances.debits_posted, balances.credits_pending,
                balances.credits_posted) == ("BHD", *counters), instant

    at_t1 = selectors.account_balances(account=wallet, as_of=start + timedelta(minutes=1))
    # Read as a wallet: 500 in it, 120 of it held, 380 available.
    assert (at_t1.posted, at_t1.pending, at_t1.available) == (500, -120, 380)


def test_a_statement_lists_entries_oldest_first_each_with_the_running_balance(db, time_machine):
    start = clock.now().replace(microsecond=0) + timedelta(days=1)
    wallet = factories.wallet()
    source = factories.funding()
    amounts = [70, 30, 5, 200, 1]
    for minute, amount in enumerate(amounts):
        time_machine.move_to(start + timedelta(minutes=minute), tick=False)
        assert factories.post_one(source, wallet, amount).result == Result.OK
    factories.post_one(wallet, source, 6)  # in the same instant as the last credit

    statement = selectors.account_statement(account=wallet)
    assert statement.ordered
    rows = list(statement)
    assert [(e.side, e.posted_change, e.credits_posted, e.debits_posted) for e in rows] == [
        ("C", 70, 70, 0), ("C", 30, 100, 0), ("C", 5, 105, 0), ("C", 200, 305, 0), ("C", 1, 306, 0),
        ("D", 6, 306, 6),
    ]
    assert [e.transfer.amount for e in rows] == [*amounts, 6]
    assert [e.posted_at for e in rows] == [start + timedelta(minutes=m) for m in (0, 1, 2, 3, 4, 4)]

    window = selectors.account_statement(account=wallet, since=start + timedelta(minutes=1),
                                         until=start + timedelta(minutes=3))
    assert [e.posted_change for e in window] == [30, 5]
