"""Balances now and as of any instant, and statements with their running balances."""

import uuid
from datetime import timedelta

from apps.core import clock
from apps.ledger import selectors
from apps.ledger.data import Kind, Result
from apps.ledger.models import Account, Transfer
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


def test_a_hold_reads_expired_from_its_deadline_even_before_the_job_releases_it(db, time_machine):
    start = clock.now().replace(microsecond=0) + timedelta(days=1)
    time_machine.move_to(start, tick=False)
    wallet = factories.wallet()
    source = factories.fund(wallet, 500)
    timed = Transfer.objects.get(pk=factories.post_one(wallet, source, 100, kind=Kind.PENDING,
                                                       timeout_seconds=60).transfer_id)
    endless = Transfer.objects.get(pk=factories.post_one(wallet, source, 100, kind=Kind.PENDING).transfer_id)

    def statuses(resolution_kind=None) -> tuple[str, str]:
        return selectors.transfer_status(timed, resolution_kind), selectors.transfer_status(endless, resolution_kind)

    time_machine.move_to(start + timedelta(seconds=59), tick=False)
    assert statuses() == ("pending", "pending")
    time_machine.move_to(start + timedelta(seconds=60), tick=False)  # at its deadline a hold has expired
    assert statuses() == ("expired", "pending")
    # What ended a hold in time still names its status, past the deadline too.
    assert statuses(Transfer.Kind.POST_PENDING) == ("posted", "posted")
    assert statuses(Transfer.Kind.VOID_PENDING) == ("voided", "voided")
    assert statuses(Transfer.Kind.EXPIRE_PENDING) == ("expired", "expired")
    assert factories.balances(wallet) == (200, 0, 0, 500)  # still held until the job runs


def test_a_merchants_transfers_and_accounts_are_read_one_mode_at_a_time(db):
    merchant_id = uuid.uuid4()
    live_wallet = factories.wallet(merchant_id=merchant_id)
    test_wallet = factories.wallet(merchant_id=merchant_id, livemode=False)
    # fund() posts as fincore (no merchant); then one transfer of the merchant's in each mode.
    live_source = factories.fund(live_wallet, 100)
    test_source = factories.fund(test_wallet, 100)
    live_ids = {factories.post_one(live_wallet, live_source, 10, merchant_id=merchant_id).transfer_id}
    test_ids = {factories.post_one(test_wallet, test_source, 10, merchant_id=merchant_id, livemode=False).transfer_id}

    for livemode, own, other in ((True, live_ids, test_ids), (False, test_ids, live_ids)):
        assert set(selectors.merchant_transfers(merchant_id=merchant_id, livemode=livemode).values_list(
            "pk", flat=True)) == own
        assert set(selectors.merchant_transfer_list(merchant_id=merchant_id, livemode=livemode,
                                                    status="posted").values_list("pk", flat=True)) == own
        [own_id], [other_id] = own, other
        assert selectors.merchant_transfer_get(merchant_id=merchant_id, livemode=livemode,
                                               transfer_id=own_id).pk == own_id
        assert selectors.merchant_transfer_get(merchant_id=merchant_id, livemode=livemode,
                                               transfer_id=other_id) is None
    assert list(selectors.customer_account_list(merchant_id=merchant_id, livemode=True)) == [live_wallet]
    assert list(selectors.customer_account_list(merchant_id=merchant_id, livemode=False)) == [test_wallet]
