"""Many writers at once on the real database: 16 threads, each with its own connection, post
5,000 random transfers (single and small batches, many overdrawing), through the engine and
through the group committer. The money adds up, no wallet owes, each accepted transfer exists
once and each refused one not at all, and no caller ever sees a deadlock or an error."""

import random
from collections import Counter, defaultdict
from dataclasses import replace

import pytest
from django.db import connection
from django.db.models import Count

from apps.ledger import engine, selectors, services
from apps.ledger.data import Kind, Result
from apps.ledger.models import Account, Transfer
from tests.factories import ledger as factories
from tests.ledger.conftest import in_threads

THREADS = 16
TRANSFERS = 5_000
# currency: (wallets, funding accounts)
CHART = {"BHD": (10, 4), "USD": (4, 2)}


@pytest.mark.django_db(transaction=True)
def test_sixteen_writers_post_five_thousand_transfers_and_the_books_balance(idle_sessions_ended_at_exit):
    accounts: dict[str, list[Account]] = {}
    wallets: set = set()
    for currency, (wallet_count, funding_count) in CHART.items():
        opened = [factories.wallet(currency=currency) for _ in range(wallet_count)]
        wallets |= {a.pk for a in opened}
        opened += [factories.funding(currency=currency) for _ in range(funding_count)]
        accounts[currency] = opened
    assert sum(len(a) for a in accounts.values()) == 20
    for opened in accounts.values():
        funders = [a for a in opened if a.pk not in wallets]
        for n, account in enumerate(a for a in opened if a.pk in wallets):
            factories.fund(account, 1_000, source=funders[n % len(funders)])
    start_balances = {a.pk: factories.balances(a) for opened in accounts.values() for a in opened}
    share = TRANSFERS // THREADS

    def writer(number: int) -> list[tuple]:
        """Post this thread's share; returns (client id, result, debit, credit, amount, kind) per transfer."""
        rng = random.Random(number)
        log: list[tuple] = []
        quota = share + (TRANSFERS % THREADS if number == 0 else 0)
        while quota:
            currency = rng.choice(["BHD", "BHD", "USD"])
            size = min(quota, rng.choice([1, 1, 1, 2, 3, 5]))
            specs = []
            for _ in range(size):
                debit, credit = rng.sample(accounts[currency], 2)
                specs.append(factories.spec(debit, credit, rng.randint(1, 400), currency=currency,
                                            client_id=f"w{number}-{len(log) + len(specs)}",
                                            kind=Kind.PENDING if rng.random() < 0.1 else Kind.IMMEDIATE,
                                            linked=size > 1 and rng.random() < 0.3))
            specs[-1] = replace(specs[-1], linked=False)  # chains end inside the batch
            if size == 1 and rng.random() < 0.5:
                # From outside any transaction: through the group committer.
                assert not connection.in_atomic_block
                try:
                    posted = services.transfer_create(spec=specs[0])
                    results = [Result.OK if posted.created else Result.EXISTS]
                except services.TransferRefused as refused:
                    results = [refused.result]
            else:
                results = [o.result for o in engine.post(specs)]
            log += [(s.client_id, r, s.debit_account_id, s.credit_account_id, s.amount, s.kind)
                    for s, r in zip(specs, results, strict=True)]
            quota -= size
        return log

    logs = in_threads(writer, THREADS, timeout=240)  # raises the first error any thread met

    posted = [entry for log in logs for entry in log]
    assert len(posted) == TRANSFERS
    outcomes = Counter(result for _, result, *_ in posted)
    assert outcomes[Result.OK] > 1_000 and outcomes[Result.EXCEEDS_CREDITS] > 100, outcomes
    assert set(outcomes) <= {Result.OK, Result.EXCEEDS_CREDITS, Result.LINKED_EVENT_FAILED}, outcomes

    # Each accepted transfer exists exactly once; refused ones not at all.
    stored = dict(Transfer.objects.filter(client_id__startswith="w").values_list("client_id").annotate(n=Count("id")))
    accepted = {client_id for client_id, result, *_ in posted if result == Result.OK}
    assert stored == dict.fromkeys(accepted, 1)

    # The stored balances are the start plus what the accepted transfers moved.
    expected = {account_id: list(counters) for account_id, counters in start_balances.items()}
    for _, result, debit, credit, amount, kind in posted:
        if result == Result.OK:
            pending = kind == Kind.PENDING
            expected[debit][0 if pending else 1] += amount
            expected[credit][2 if pending else 3] += amount
    final = {a.pk: list(factories.balances(a)) for opened in accounts.values() for a in opened}
    assert final == expected

    for opened in accounts.values():
        ids = [a.pk for a in opened]
        counters = Account.objects.filter(pk__in=ids).values_list(
            "debits_pending", "debits_posted", "credits_pending", "credits_posted")
        # Each currency's total is unchanged: zero, as it started.
        assert sum(cpo - dpo for _, dpo, _, cpo in counters) == 0
        assert sum(cp - dp for dp, _, cp, _ in counters) == 0
    # No wallet owes, holds included.
    for account_id in wallets:
        dp, dpo, _, cpo = final[account_id]
        assert cpo - dpo - dp >= 0

    # The balances are the replay of the history, by ledger_verify and by a sum of the entries here.
    assert selectors.ledger_verify().ok
    replayed = defaultdict(lambda: [0, 0, 0, 0])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, side, SUM(pending_change), SUM(posted_change) FROM ledger_entry "
            "GROUP BY account_id, side"
        )
        for account_id, side, pending_sum, posted_sum in cursor.fetchall():
            offset = 0 if side == "D" else 2
            replayed[account_id][offset:offset + 2] = [pending_sum, posted_sum]
    assert {a: replayed[a] for a in final} == final


@pytest.mark.django_db(transaction=True)
def test_batches_racing_on_one_client_id_post_it_once_and_the_others_find_it(idle_sessions_ended_at_exit):
    wallet = factories.wallet()
    source = factories.funding()
    other_wallet = factories.wallet()

    def send(number: int):
        # Each batch also carries a transfer of its own, which must not be lost to the race.
        return engine.post([
            factories.spec(source, wallet, 5, client_id="raced"),
            factories.spec(source, other_wallet, 1, client_id=f"own-{number}"),
        ])

    outcomes = in_threads(send, 8)

    assert sorted(first.result for first, _ in outcomes) == [Result.EXISTS] * 7 + [Result.OK]
    assert len({first.transfer_id for first, _ in outcomes}) == 1
    assert {own.result for _, own in outcomes} == {Result.OK}
    assert factories.balances(wallet) == (0, 0, 0, 5)
    assert factories.balances(other_wallet) == (0, 0, 0, 8)
    assert selectors.ledger_verify().ok
