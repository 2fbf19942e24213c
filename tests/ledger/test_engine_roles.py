"""Postings that name accounts by role (AccountRef): the engine finds each account in the
statement that locks the batch's accounts, opens a missing one with the batch's writes — only
if a transfer to or from it is posted — and two first uses at once open one account."""

import threading
import uuid
from collections.abc import Iterator

import psycopg2.extensions
import pytest
from django.db import DataError, connection

from apps.ledger import engine, selectors, services
from apps.ledger.data import AccountRef, AccountRole, Kind, Outcome, Result
from apps.ledger.models import Account, Transfer
from tests.factories import ledger as factories
from tests.factories.ledger import spec as transfer
from tests.ledger.conftest import in_threads, ledger_snapshot

FEES = AccountRef(AccountRole.FEE_REVENUE, "BHD", True)
CARD = AccountRef(AccountRole.CONNECTOR_CLEARING, "BHD", True, name="card")


def merchant(role: AccountRole, merchant_id: uuid.UUID, *, currency: str = "BHD", livemode: bool = True) -> AccountRef:
    return AccountRef(role, currency, livemode, merchant_id=merchant_id)


def accounts_of(ref: AccountRef) -> list[Account]:
    return list(Account.objects.filter(code=ref.role, currency=ref.currency, livemode=ref.livemode,
                                       merchant_id=ref.merchant_id, name=ref.name))


@pytest.mark.django_db
def test_a_role_account_is_opened_by_its_first_posting_and_found_by_the_next():
    source = factories.funding()
    assert accounts_of(CARD) == []

    first = engine.post([transfer(source, CARD, 700)])[0]
    [clearing] = accounts_of(CARD)
    second = engine.post([transfer(CARD, FEES, 200)])[0]

    assert (first.result, second.result) == (Result.OK, Result.OK)
    assert Transfer.objects.get(pk=first.transfer_id).credit_account_id == clearing.pk
    assert Transfer.objects.get(pk=second.transfer_id).debit_account_id == clearing.pk
    [fees] = accounts_of(FEES)
    assert (clearing.owner_type, clearing.merchant_id, clearing.code, clearing.name, clearing.currency,
            clearing.livemode, clearing.debits_must_not_exceed_credits, clearing.credits_must_not_exceed_debits,
            clearing.reference, clearing.metadata, clearing.frozen, clearing.closed) == (
        "system", None, "connector_clearing", "card", "BHD", True, False, False, "", {}, False, False)
    assert factories.balances(clearing) == (0, 200, 0, 700)
    assert factories.balances(fees) == (0, 0, 0, 200)
    assert [e.posted_change for e in selectors.account_statement(account=clearing)] == [700, 200]
    assert selectors.ledger_verify().ok


@pytest.mark.django_db
def test_each_currency_and_mode_has_its_own_role_account():
    live, test = factories.funding(), factories.funding(livemode=False)
    usd = factories.funding(currency="USD")
    outcomes = engine.post([
        transfer(live, FEES, 1), transfer(test, AccountRef(AccountRole.FEE_REVENUE, "BHD", False), 2, livemode=False),
        transfer(usd, AccountRef(AccountRole.FEE_REVENUE, "USD", True), 3, currency="USD"), transfer(live, FEES, 4),
    ])
    assert [o.result for o in outcomes] == [Result.OK] * 4
    assert sorted(Account.objects.filter(code="fee_revenue").values_list("currency", "livemode", "credits_posted")) \
        == [("BHD", False, 2), ("BHD", True, 5), ("USD", True, 3)]


@pytest.mark.django_db
def test_a_merchants_role_account_is_opened_with_its_rules_or_found_where_the_merchant_opened_it():
    source = factories.funding()
    opened_with_merchant, new_merchant = uuid.uuid4(), uuid.uuid4()
    services.merchant_accounts_open(merchant_id=opened_with_merchant, currencies=["BHD"])
    pending = selectors.role_account_get(ref=merchant(AccountRole.MERCHANT_PENDING, opened_with_merchant))

    outcomes = engine.post([
        transfer(source, merchant(AccountRole.MERCHANT_PENDING, opened_with_merchant), 100),
        transfer(source, merchant(AccountRole.MERCHANT_RESERVE, new_merchant), 40),
    ])

    assert [o.result for o in outcomes] == [Result.OK, Result.OK]
    assert Transfer.objects.get(pk=outcomes[0].transfer_id).credit_account_id == pending.pk
    [reserve] = accounts_of(merchant(AccountRole.MERCHANT_RESERVE, new_merchant))
    assert (reserve.owner_type, reserve.merchant_id, reserve.name, reserve.debits_must_not_exceed_credits) == (
        "merchant", new_merchant, "", True)
    # Only the account the posting named: the merchant's others open with the merchant.
    assert Account.objects.filter(merchant_id=new_merchant).count() == 1
    # A merchant's account never owes: taking more than it holds is refused.
    assert engine.post([transfer(merchant(AccountRole.MERCHANT_RESERVE, new_merchant), source, 41)])[0] == Outcome(
        Result.EXCEEDS_CREDITS)


@pytest.mark.django_db
def test_one_batch_mixes_ids_and_roles_and_opens_each_role_account_once():
    merchant_id = uuid.uuid4()
    pending = merchant(AccountRole.MERCHANT_PENDING, merchant_id)
    source, wallet = factories.funding(merchant_id=merchant_id), factories.wallet(merchant_id=merchant_id)

    outcomes = engine.post([
        transfer(source, CARD, 1_000),
        transfer(CARD, pending, 900),
        transfer(CARD, FEES, 100),
        transfer(source, wallet, 50),
        transfer(pending, wallet, 300, kind=Kind.PENDING),
        transfer(pending, CARD, 601),  # 900 less the 300 held: refused, the rest stands
    ])

    assert [o.result for o in outcomes] == [Result.OK] * 5 + [Result.EXCEEDS_CREDITS]
    assert [len(accounts_of(ref)) for ref in (CARD, pending, FEES)] == [1, 1, 1]
    [clearing], [merchant_pending], [fees] = accounts_of(CARD), accounts_of(pending), accounts_of(FEES)
    assert factories.balances(clearing) == (0, 1_000, 0, 1_000)
    assert factories.balances(merchant_pending) == (300, 0, 0, 900)
    assert factories.balances(fees) == (0, 0, 0, 100)
    assert factories.balances(wallet) == (0, 0, 300, 50)
    assert selectors.ledger_verify().ok


@pytest.mark.django_db
def test_a_batch_naming_many_role_accounts_finds_those_opened_and_opens_the_rest():
    source = factories.funding()
    merchants = [uuid.uuid4() for _ in range(8)]
    for merchant_id in merchants[::2]:
        services.merchant_accounts_open(merchant_id=merchant_id, currencies=["BHD"])
    clearing = [AccountRef(AccountRole.CONNECTOR_CLEARING, "BHD", True, name=f"rail-{n}") for n in range(3)]
    engine.post([transfer(source, clearing[0], 1)])
    pendings = [merchant(AccountRole.MERCHANT_PENDING, merchant_id) for merchant_id in merchants]
    before = {ref: [a.pk for a in accounts_of(ref)] for ref in pendings + clearing}

    outcomes = engine.post([transfer(clearing[n % 3], pending, 10 + n) for n, pending in enumerate(pendings)])

    assert [o.result for o in outcomes] == [Result.OK] * 8
    for n, pending in enumerate(pendings):
        [account] = accounts_of(pending)
        assert before[pending] in ([], [account.pk])
        assert factories.balances(account) == (0, 0, 0, 10 + n)
    assert [len(before[pending]) for pending in pendings] == [1, 0] * 4
    assert [len(accounts_of(ref)) for ref in clearing] == [1, 1, 1]
    assert selectors.ledger_verify().ok


@pytest.mark.django_db
def test_a_retry_finds_the_first_transfer_through_the_same_roles():
    source = factories.funding()
    first = engine.post([transfer(source, CARD, 10, client_id="fee-1")])[0]
    assert engine.post([transfer(source, CARD, 10, client_id="fee-1")])[0] == Outcome(Result.EXISTS, first.transfer_id)
    # The same client id to another role's account is another request, and opens nothing.
    before = ledger_snapshot()
    assert engine.post([transfer(source, FEES, 10, client_id="fee-1")])[0] == Outcome(
        Result.EXISTS_WITH_DIFFERENT_FIELDS)
    assert ledger_snapshot() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "refused",
    [
        # A merchant's pending account not opened yet holds nothing to take.
        lambda source, merchant_id: [transfer(merchant(AccountRole.MERCHANT_PENDING, merchant_id), CARD, 1)],
        lambda source, merchant_id: [transfer(source, AccountRef(AccountRole.FEE_REVENUE, "USD", True), 1)],
        lambda source, merchant_id: [transfer(source, AccountRef(AccountRole.FEE_REVENUE, "BHD", False), 1)],
        lambda source, merchant_id: [transfer(source, FEES, 0)],
        # An API caller reaches only its customers' accounts.
        lambda source, merchant_id: [transfer(source, FEES, 1, merchant_id=source.merchant_id, merchant_scope=True)],
        # A chain is posted whole or not at all: its first transfer opens nothing either.
        lambda source, merchant_id: [transfer(source, FEES, 5, linked=True),
                                     transfer(merchant(AccountRole.MERCHANT_AVAILABLE, merchant_id), CARD, 1)],
    ],
    ids=["overdraft", "other currency", "other mode", "no amount", "merchant scope", "failed chain"],
)
def test_a_refused_transfer_opens_nothing(refused):
    source, wallet = factories.funding(), factories.wallet()
    accounts = Account.objects.count()

    # With a transfer of its own that is posted: the batch writes, but opens no account for the refused.
    *outcomes, posted = engine.post([*refused(source, uuid.uuid4()), transfer(source, wallet, 1)])

    assert not any(o.result in (Result.OK, Result.EXISTS) for o in outcomes)
    assert posted.result == Result.OK
    assert Account.objects.count() == accounts
    assert factories.balances(source) == (0, 1, 0, 0)
    # Alone, it writes nothing at all.
    before = ledger_snapshot()
    assert not any(o.result in (Result.OK, Result.EXISTS) for o in engine.post(refused(source, uuid.uuid4())))
    assert ledger_snapshot() == before


@pytest.mark.django_db
def test_a_role_account_that_may_not_owe_refuses_with_exceeds_credits_not_insufficient_funds():
    # insufficient_funds speaks to a customer's wallet; a merchant's account is not one.
    with pytest.raises(services.TransferRefused) as refused:
        services.transfer_create(spec=transfer(merchant(AccountRole.MERCHANT_AVAILABLE, uuid.uuid4()), FEES, 5))
    assert (type(refused.value), refused.value.code) == (services.REFUSALS[Result.EXCEEDS_CREDITS], "exceeds_credits")
    assert accounts_of(FEES) == []


@pytest.mark.django_db(transaction=True)
def test_two_first_uses_at_once_open_one_account(idle_sessions_ended_at_exit, monkeypatch):
    sources = [factories.funding(), factories.funding()]
    # Both batches have looked for the account and found none before either opens it: the
    # chart's unique constraint decides, and the loser runs again and finds the winner's.
    both_looked = threading.Barrier(2)
    looked: list[int] = []
    real_lock = engine._lock_accounts

    def lock_then_wait_for_the_other(cursor, ids, refs=()):
        locked = real_lock(cursor, ids, refs)
        looked.append(threading.get_ident())
        if looked.count(threading.get_ident()) == 1:
            both_looked.wait(10)
        return locked

    monkeypatch.setattr(engine, "_lock_accounts", lock_then_wait_for_the_other)

    outcomes = in_threads(lambda n: engine.post([transfer(sources[n], CARD, 100 + n)])[0], 2)

    assert [o.result for o in outcomes] == [Result.OK, Result.OK]
    assert len(looked) == 3  # one batch ran twice
    [clearing] = accounts_of(CARD)
    assert {Transfer.objects.get(pk=o.transfer_id).credit_account_id for o in outcomes} == {clearing.pk}
    assert factories.balances(clearing) == (0, 0, 0, 201)
    assert selectors.ledger_verify().ok


@pytest.mark.django_db(transaction=True)
def test_many_callers_naming_one_new_account_share_it_through_group_commit(idle_sessions_ended_at_exit):
    sources = [factories.funding() for _ in range(8)]

    posted = in_threads(lambda n: services.transfer_create(spec=transfer(sources[n], CARD, 10)), 8)

    [clearing] = accounts_of(CARD)
    assert {p.transfer.credit_account_id for p in posted} == {clearing.pk}
    assert factories.balances(clearing) == (0, 0, 0, 80)
    assert selectors.ledger_verify().ok


# --- round trips -----------------------------------------------------------------------------------


class _Recording(psycopg2.extensions.cursor):
    statements: list[str] = []

    def execute(self, sql, params=None):
        _Recording.statements.append(sql.decode() if isinstance(sql, bytes) else sql)
        return super().execute(sql, params)


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every statement this connection sends to PostgreSQL, the engine's own cursor's included
    (Django's query log sees only those sent through its wrapper)."""
    connection.ensure_connection()
    raw = connection.connection
    _Recording.statements = []
    raw.cursor_factory = _Recording
    try:
        yield _Recording.statements
    finally:
        raw.cursor_factory = psycopg2.extensions.cursor


@pytest.mark.django_db
def test_naming_two_accounts_by_role_costs_no_round_trip_more_than_naming_them_by_id(statements):
    merchant_id = uuid.uuid4()
    source = factories.funding()
    factories.post_one(source, factories.wallet(), 1)  # the engine's first use: its planning warmed up
    pending = merchant(AccountRole.MERCHANT_PENDING, merchant_id)

    def sent(request) -> int:
        statements.clear()
        assert services.transfer_create(spec=request).created
        return len(statements)

    by_ids = sent(transfer(source, factories.wallet(), 5))
    first_use = sent(transfer(CARD, pending, 5))  # both opened with the transfer
    after = sent(transfer(CARD, pending, 5))

    # Inside a test's transaction: the lock (with SAVEPOINT), the write (with RELEASE), and no
    # read after: the service returns the transfer as the engine wrote it.
    assert by_ids == first_use == after == 2


@pytest.mark.django_db(transaction=True)
def test_a_posting_outside_any_transaction_is_two_round_trips_and_a_replay_still_finds_it(statements):
    source, wallet = factories.funding(), factories.wallet()
    factories.post_one(source, wallet, 1)  # the engine's first use: its planning warmed up
    statements.clear()

    first = factories.post_one(source, wallet, 5, client_id="two-trips")

    # BEGIN rides with the lock, COMMIT with the write.
    assert len(statements) == 2
    assert statements[0].startswith("BEGIN;\nSELECT") and statements[0].endswith("FOR UPDATE")
    assert statements[1].startswith("INSERT") and statements[1].endswith("COMMIT")
    assert connection.connection.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    # The first attempt takes the client id for new; the unique index refuses it, and the retry
    # looks it up and answers as before.
    assert factories.post_one(source, wallet, 5, client_id="two-trips") == Outcome(Result.EXISTS, first.transfer_id)
    assert factories.balances(wallet) == (0, 0, 0, 6)


@pytest.mark.django_db(transaction=True)
def test_a_write_the_database_refuses_outside_any_transaction_is_rolled_back_and_the_connection_reused():
    source, wallet = factories.funding(), factories.wallet()

    with pytest.raises(DataError):  # jsonb holds no NUL character
        factories.post_one(source, wallet, 5, metadata={"note": "bad\u0000"})

    assert connection.connection.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE
    assert factories.post_one(source, wallet, 5).result is Result.OK
    assert factories.balances(wallet) == (0, 0, 0, 5)
    assert selectors.ledger_verify().ok
