"""The posting engine on the database: what it writes, retries by client id, a large batch, and
the time it stamps on entries."""

import uuid
from datetime import timedelta

import pytest
from django.db.models import Count

from apps.core import clock
from apps.ledger import engine, selectors
from apps.ledger.data import Kind, Outcome, Result
from apps.ledger.models import Account, Entry, Transfer
from tests.factories import ledger as factories


def test_a_transfer_row_says_what_was_asked_and_when(books, time_machine):
    instant = clock.now().replace(microsecond=0) + timedelta(days=1)
    time_machine.move_to(instant, tick=False)
    outcome = factories.post_one(books.funding, books.wallet, 250, client_id="inv-7", code="top_up",
                                 reference="INV-7", metadata={"note": "first"}, created_by="api:key_1",
                                 merchant_id=books.funding.merchant_id)

    transfer = Transfer.objects.get(pk=outcome.transfer_id)
    assert (transfer.merchant_id, transfer.client_id, transfer.kind, transfer.debit_account_id,
            transfer.credit_account_id, transfer.currency, transfer.amount, transfer.code, transfer.reference,
            transfer.metadata, transfer.effective_at, transfer.created_at, transfer.created_by, transfer.expires_at) \
        == (books.funding.merchant_id, "inv-7", "immediate", books.funding.pk, books.wallet.pk, "BHD", 250, "top_up",
            "INV-7", {"note": "first"}, instant, instant, "api:key_1", None)
    assert list(Entry.objects.filter(transfer=transfer).order_by("side").values_list(
        "account_id", "side", "pending_change", "posted_change", "debits_pending", "debits_posted",
        "credits_pending", "credits_posted", "posted_at")) == [
        (books.wallet.pk, "C", 0, 250, 100, 0, 0, 1_250, instant),
        (books.funding.pk, "D", 0, 250, 0, 1_250, 100, 0, instant),
    ]
    assert Account.objects.get(pk=books.wallet.pk).last_posted_at == instant


def test_a_retry_with_the_same_client_id_returns_the_first_transfer_and_writes_nothing(books):
    first = factories.post_one(books.funding, books.wallet, 10, client_id="once")
    rows = (Transfer.objects.count(), Entry.objects.count(), factories.balances(books.wallet))

    assert factories.post_one(books.funding, books.wallet, 10, client_id="once") == Outcome(
        Result.EXISTS, first.transfer_id
    )
    assert factories.post_one(books.funding, books.wallet, 11, client_id="once") == Outcome(
        Result.EXISTS_WITH_DIFFERENT_FIELDS
    )
    assert factories.post_one(books.funding, books.wallet, 10, client_id="once", reference="other") == Outcome(
        Result.EXISTS_WITH_DIFFERENT_FIELDS
    )
    assert (Transfer.objects.count(), Entry.objects.count(), factories.balances(books.wallet)) == rows


def test_client_ids_belong_to_their_merchant(books):
    merchant, other = uuid.uuid4(), uuid.uuid4()
    outcomes = engine.post([
        factories.spec(books.funding, books.wallet, 1, client_id="order-1", merchant_id=merchant),
        factories.spec(books.funding, books.wallet, 1, client_id="order-1", merchant_id=other),
        factories.spec(books.funding, books.wallet, 1, client_id="order-1"),
    ])
    assert [o.result for o in outcomes] == [Result.OK, Result.OK, Result.OK]
    assert len({o.transfer_id for o in outcomes}) == 3
    # fincore's own (no merchant) retries find theirs too.
    again = factories.post_one(books.funding, books.wallet, 1, client_id="order-1")
    assert again == Outcome(Result.EXISTS, outcomes[2].transfer_id)


def test_a_refused_batch_writes_nothing(books):
    before = (Transfer.objects.count(), Entry.objects.count(), factories.balances(books.wallet),
              factories.balances(books.funding))
    outcomes = engine.post([
        factories.spec(books.wallet, books.funding, 901),  # 1,000 held less 100 on hold
        factories.spec(books.funding, books.usd, 5),
        factories.spec(books.funding, books.wallet, 5, linked=True),
        factories.spec(books.funding, books.funding, 5),
    ])
    assert [o.result for o in outcomes] == [Result.EXCEEDS_CREDITS, Result.CURRENCY_MISMATCH,
                                            Result.LINKED_EVENT_FAILED, Result.SAME_ACCOUNT]
    assert (Transfer.objects.count(), Entry.objects.count(), factories.balances(books.wallet),
            factories.balances(books.funding)) == before
    assert engine.post([]) == []


def test_a_batch_of_a_thousand_transfers_over_two_thousand_accounts(db):
    now = clock.now()
    merchant = uuid.uuid4()
    # Pair n: a payer and a payee. Every tenth payer is a wallet with 5 in it; the others may go negative.
    payers = Account.objects.bulk_create([
        Account(currency="BHD", owner_type="customer", merchant_id=merchant, code="wallet" if n % 10 == 0 else
                "funding", debits_must_not_exceed_credits=n % 10 == 0, created_at=now)
        for n in range(1_000)
    ])
    payees = Account.objects.bulk_create([
        Account(currency="BHD", owner_type="customer", merchant_id=merchant, code="wallet",
                debits_must_not_exceed_credits=True, created_at=now)
        for _ in range(1_000)
    ])
    source = factories.funding()
    seeded = engine.post([factories.spec(source, payer, 5) for payer in payers[::10]])
    assert {o.result for o in seeded} == {Result.OK}

    # Payer n pays n + 1: the wallets (n = 0, 10, ...) can pay only when n + 1 <= 5, that is n = 0.
    outcomes = engine.post([factories.spec(payers[n], payees[n], n + 1) for n in range(1_000)])

    expected = [Result.OK if n % 10 or n == 0 else Result.EXCEEDS_CREDITS for n in range(1_000)]
    assert [o.result for o in outcomes] == expected
    assert len({o.transfer_id for o in outcomes if o.transfer_id}) == 901
    stored = {a.pk: a for a in Account.objects.filter(merchant_id=merchant)}
    for n in range(1_000):
        paid = n + 1 if expected[n] == Result.OK else 0
        funded = 5 if n % 10 == 0 else 0
        payer, payee = stored[payers[n].pk], stored[payees[n].pk]
        assert (payer.debits_pending, payer.debits_posted, payer.credits_pending, payer.credits_posted) == (
            0, paid, 0, funded)
        assert (payee.debits_pending, payee.debits_posted, payee.credits_pending, payee.credits_posted) == (
            0, 0, 0, paid)
    assert Entry.objects.filter(transfer_id__in=[o.transfer_id for o in outcomes if o.transfer_id]).count() == 1_802
    # One batch, one instant: every transfer and entry of it carries the same time.
    assert Transfer.objects.filter(pk__in=[o.transfer_id for o in outcomes if o.transfer_id]).aggregate(
        n=Count("created_at", distinct=True))["n"] == 1
    assert selectors.ledger_verify().ok


def test_entries_of_an_account_never_go_back_in_time_when_the_clock_does(books, time_machine):
    later = clock.now().replace(microsecond=0) + timedelta(days=1)
    time_machine.move_to(later, tick=False)
    first = factories.post_one(books.funding, books.wallet, 1)
    time_machine.move_to(later - timedelta(hours=1), tick=False)  # the clock steps back an hour
    second = factories.post_one(books.funding, books.wallet, 2)
    # An account the earlier posting did not touch takes the clock's time.
    fresh = factories.funding(merchant_id=books.funding.merchant_id)
    third = factories.post_one(fresh, factories.wallet(), 3)

    transfers = {t.pk: t for t in Transfer.objects.filter(pk__in=[first.transfer_id, second.transfer_id,
                                                                 third.transfer_id])}
    assert transfers[first.transfer_id].created_at == later
    assert transfers[second.transfer_id].created_at == later
    assert transfers[third.transfer_id].created_at == later - timedelta(hours=1)
    wallet_times = list(selectors.account_statement(account=books.wallet).values_list("posted_at", flat=True))
    assert wallet_times == sorted(wallet_times)
    assert wallet_times[-2:] == [later, later]
    assert selectors.ledger_verify().ok


def test_resolutions_and_reversals_take_their_accounts_from_what_they_refer_to(books):
    post = factories.post_one(None, None, 40, currency=None, kind=Kind.POST_PENDING, pending_id=books.hold.pk)
    assert post.result == Result.OK
    assert factories.balances(books.wallet) == (0, 40, 0, 1_000)
    assert factories.balances(books.funding) == (0, 1_000, 0, 40)

    reversal = factories.post_one(None, None, None, currency=None, reverses_id=post.transfer_id)
    transfer = Transfer.objects.get(pk=reversal.transfer_id)
    assert (transfer.debit_account_id, transfer.credit_account_id, transfer.amount, transfer.reverses_id) == (
        books.funding.pk, books.wallet.pk, 40, post.transfer_id)
    assert factories.balances(books.wallet) == (0, 40, 0, 1_040)
    assert factories.post_one(None, None, None, currency=None, reverses_id=post.transfer_id).result == \
        Result.ALREADY_REVERSED
    assert selectors.ledger_verify().ok


@pytest.mark.parametrize("flag", ["frozen", "closed"])
def test_a_frozen_or_closed_account_refuses_money_but_lets_its_holds_end(books, flag):
    Account.objects.filter(pk=books.wallet.pk).update(**{flag: True})
    refusal = Result.ACCOUNT_FROZEN if flag == "frozen" else Result.ACCOUNT_CLOSED
    assert factories.post_one(books.funding, books.wallet, 1).result == refusal
    assert factories.post_one(books.wallet, books.funding, 1, kind=Kind.PENDING).result == refusal
    void = factories.post_one(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=books.hold.pk)
    assert void.result == Result.OK
    assert factories.balances(books.wallet) == (0, 0, 0, 1_000)


# --- test and live money ------------------------------------------------------------------------


def test_a_transfer_sees_only_accounts_and_transfers_of_its_own_mode(books):
    merchant = books.funding.merchant_id
    test_funding = factories.funding(merchant_id=merchant, livemode=False)
    test_wallet = factories.wallet(merchant_id=merchant, livemode=False)
    test_payment = factories.post_one(test_funding, test_wallet, 300, livemode=False)
    test_hold = factories.post_one(test_wallet, test_funding, 30, kind=Kind.PENDING, livemode=False)
    assert (test_payment.result, test_hold.result) == (Result.OK, Result.OK)
    accounts = (books.funding, books.wallet, test_funding, test_wallet)
    before = (Transfer.objects.count(), Entry.objects.count(), [factories.balances(a) for a in accounts])

    def resolve(kind: Kind, pending_id, **fields):
        return factories.spec(None, None, None, currency=None, kind=kind, pending_id=pending_id, **fields)

    def reverse(transfer_id, **fields):
        return factories.spec(None, None, None, currency=None, reverses_id=transfer_id, code="reversal", **fields)

    outcomes = engine.post([
        factories.spec(test_funding, books.wallet, 1),  # live: the test account is not there
        factories.spec(books.funding, test_wallet, 1),
        factories.spec(books.funding, test_wallet, 1, livemode=False),  # test: the live account is not there
        factories.spec(test_funding, books.wallet, 1, livemode=False),
        factories.spec(test_funding, test_wallet, 1, merchant_id=merchant, merchant_scope=True),
        resolve(Kind.POST_PENDING, books.hold.pk, livemode=False),
        resolve(Kind.VOID_PENDING, test_hold.transfer_id),
        reverse(books.payment.pk, livemode=False),
        reverse(test_payment.transfer_id),
    ])

    assert [o.result for o in outcomes] == [
        Result.DEBIT_ACCOUNT_NOT_FOUND, Result.CREDIT_ACCOUNT_NOT_FOUND, Result.DEBIT_ACCOUNT_NOT_FOUND,
        Result.CREDIT_ACCOUNT_NOT_FOUND, Result.DEBIT_ACCOUNT_NOT_FOUND, Result.PENDING_NOT_FOUND,
        Result.PENDING_NOT_FOUND, Result.REVERSED_NOT_FOUND, Result.REVERSED_NOT_FOUND,
    ]
    assert (Transfer.objects.count(), Entry.objects.count(), [factories.balances(a) for a in accounts]) == before

    # In its own mode, each goes through.
    own = engine.post([
        factories.spec(test_funding, test_wallet, 1, livemode=False, merchant_id=merchant, merchant_scope=True),
        resolve(Kind.VOID_PENDING, test_hold.transfer_id, livemode=False),
        reverse(test_payment.transfer_id, livemode=False),
        resolve(Kind.VOID_PENDING, books.hold.pk),
    ])
    assert [o.result for o in own] == [Result.OK] * 4
    assert [Transfer.objects.get(pk=o.transfer_id).livemode for o in own] == [False, False, False, True]
    assert factories.balances(test_wallet) == (0, 300, 0, 301)
    assert factories.balances(test_funding) == (0, 301, 0, 300)
    assert factories.balances(books.wallet) == (0, 0, 0, 1_000)
    assert selectors.ledger_verify().ok


def test_client_ids_belong_to_their_mode(books):
    merchant = books.funding.merchant_id
    test_funding = factories.funding(merchant_id=merchant, livemode=False)
    test_wallet = factories.wallet(merchant_id=merchant, livemode=False)

    def both(client_id: str, merchant_id):
        return [
            factories.spec(books.funding, books.wallet, 1, client_id=client_id, merchant_id=merchant_id),
            factories.spec(test_funding, test_wallet, 1, client_id=client_id, merchant_id=merchant_id,
                           livemode=False),
        ]

    # A merchant's and fincore's own (no merchant): each mode has its own namespace.
    first = engine.post([*both("order-1", merchant), *both("own-1", None)])
    again = engine.post([*both("order-1", merchant), *both("own-1", None)])

    assert [o.result for o in first] == [Result.OK] * 4
    assert len({o.transfer_id for o in first}) == 4
    assert again == [Outcome(Result.EXISTS, o.transfer_id) for o in first]
    assert sorted(Transfer.objects.filter(client_id__in=["order-1", "own-1"]).values_list(
        "client_id", "livemode", "merchant_id")) == [
        ("order-1", False, merchant), ("order-1", True, merchant), ("own-1", False, None), ("own-1", True, None),
    ]


# --- code and reference ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [Kind.POST_PENDING, Kind.VOID_PENDING])
def test_a_resolution_without_code_or_reference_is_written_with_its_pendings(books, kind):
    hold = factories.post_one(books.wallet, books.funding, 200, kind=Kind.PENDING, code="order",
                              reference="order 9")
    resolution = factories.post_one(None, None, None, currency=None, kind=kind, pending_id=hold.transfer_id,
                                    client_id="resolve-9")

    stored = Transfer.objects.get(pk=resolution.transfer_id)
    assert (stored.kind, stored.code, stored.reference) == (kind, "order", "order 9")
    # A retry as first sent, with blanks, is the same request; with another reference it is not.
    rows = (Transfer.objects.count(), Entry.objects.count())
    retry = factories.post_one(None, None, None, currency=None, kind=kind, pending_id=hold.transfer_id,
                               client_id="resolve-9")
    assert retry == Outcome(Result.EXISTS, resolution.transfer_id)
    spelled_out = factories.post_one(None, None, None, currency=None, kind=kind, pending_id=hold.transfer_id,
                                     client_id="resolve-9", code="order", reference="order 9")
    assert spelled_out == Outcome(Result.EXISTS, resolution.transfer_id)
    changed = factories.post_one(None, None, None, currency=None, kind=kind, pending_id=hold.transfer_id,
                                 client_id="resolve-9", reference="order 10")
    assert changed == Outcome(Result.EXISTS_WITH_DIFFERENT_FIELDS)
    assert (Transfer.objects.count(), Entry.objects.count()) == rows


def test_a_resolution_keeps_the_code_and_reference_it_is_given(books):
    hold = factories.post_one(books.wallet, books.funding, 200, kind=Kind.PENDING, code="order",
                              reference="order 9")
    post = factories.post_one(None, None, 50, currency=None, kind=Kind.POST_PENDING, pending_id=hold.transfer_id,
                              code="capture", reference="shipment 1")

    stored = Transfer.objects.get(pk=post.transfer_id)
    assert (stored.code, stored.reference, stored.amount) == ("capture", "shipment 1", 50)


def test_a_reversal_without_reference_is_written_with_the_reversed_transfers(books):
    purchase = factories.post_one(books.wallet, books.funding, 300, code="purchase", reference="order 11")
    reversal = factories.post_one(None, None, None, currency=None, reverses_id=purchase.transfer_id,
                                  code="reversal", client_id="refund-11")

    stored = Transfer.objects.get(pk=reversal.transfer_id)
    assert (stored.code, stored.reference, stored.debit_account_id, stored.amount) == (
        "reversal", "order 11", books.funding.pk, 300)
    assert factories.post_one(None, None, None, currency=None, reverses_id=purchase.transfer_id, code="reversal",
                              client_id="refund-11") == Outcome(Result.EXISTS, reversal.transfer_id)


# --- timeouts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, -1])
def test_a_timeout_must_be_a_positive_number_of_seconds(books, timeout):
    before = (Transfer.objects.count(), Entry.objects.count(), factories.balances(books.wallet))

    outcome = factories.post_one(books.wallet, books.funding, 10, kind=Kind.PENDING, timeout_seconds=timeout)

    assert outcome == Outcome(Result.TIMEOUT_MUST_BE_POSITIVE)
    assert (Transfer.objects.count(), Entry.objects.count(), factories.balances(books.wallet)) == before
