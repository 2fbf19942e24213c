"""The ledger's invariants hold in PostgreSQL itself, for raw SQL that bypasses the engine.

Each refused statement runs in its own savepoint (``transaction.atomic``), so the error is
contained; the test then shows that nothing changed.
"""

import re
import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from apps.core import clock
from apps.ledger import selectors
from apps.ledger.data import Kind
from apps.ledger.models import Account, Entry, Transfer
from tests.factories import ledger as factories
from tests.ledger.conftest import ledger_snapshot


def execute(sql: str, params: list | tuple = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def refused(sql: str, params: list | tuple = (), *, error: type[Exception] = IntegrityError) -> str:
    """Run ``sql``, which must fail with ``error``; returns the database's message."""
    before = ledger_snapshot()
    with pytest.raises(error) as failure, transaction.atomic():
        execute(sql, params)
    assert ledger_snapshot() == before
    return str(failure.value)


def insert_transfer(**fields) -> tuple[str, list]:
    """An INSERT of one transfer row, with sensible defaults for whatever ``fields`` leaves out."""
    now = clock.now()
    row = {
        "id": uuid.uuid4(), "livemode": True, "merchant_id": None, "client_id": f"raw-{uuid.uuid4()}",
        "kind": "immediate",
        "debit_account_id": None, "credit_account_id": None, "currency": "BHD", "amount": 10, "pending_id": None,
        "reverses_id": None, "expires_at": None, "code": "", "reference": "", "metadata": "{}", "effective_at": now,
        "created_at": now, "created_by": "raw sql",
    } | fields
    columns = ", ".join(row)
    return f"INSERT INTO ledger_transfer ({columns}) VALUES ({', '.join(['%s'] * len(row))})", [
        str(v) if isinstance(v, uuid.UUID) else v for v in row.values()
    ]


def move_posted(debit: Account, credit: Account, amount: int) -> None:
    """Raise ``debit``'s posted debits and ``credit``'s posted credits by ``amount``, in one
    statement (balanced, but with no transfer or entries behind it)."""
    execute(
        "UPDATE ledger_account SET debits_posted = debits_posted + CASE WHEN id = %s THEN %s ELSE 0 END, "
        "credits_posted = credits_posted + CASE WHEN id = %s THEN %s ELSE 0 END WHERE id IN (%s, %s)",
        [str(debit.pk), amount, str(credit.pk), amount, str(debit.pk), str(credit.pk)],
    )


# --- append-only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE ledger_transfer SET amount = amount + 1", "UPDATE on ledger_transfer refused"),
        ("UPDATE ledger_transfer SET reference = 'edited'", "UPDATE on ledger_transfer refused"),
        ("DELETE FROM ledger_transfer", "DELETE on ledger_transfer refused"),
        ("UPDATE ledger_entry SET credits_posted = 0", "UPDATE on ledger_entry refused"),
        ("DELETE FROM ledger_entry", "DELETE on ledger_entry refused"),
        ("DELETE FROM ledger_account", "DELETE on ledger_account refused"),
    ],
)
def test_transfers_and_entries_are_append_only_and_accounts_are_never_deleted(books, sql, message):
    assert message in refused(sql)
    assert "the ledger is append-only" in refused(sql)


def test_even_an_account_without_history_cannot_be_deleted(books):
    unused = factories.funding()
    message = refused("DELETE FROM ledger_account WHERE id = %s", [str(unused.pk)])
    assert "the ledger is append-only: DELETE on ledger_account refused" in message


# Each change of identity or overdraft rule, on an account that no transfer refers to and whose
# balances every rule allows, so that no foreign key or CHECK constraint refuses it first: only the
# guard stands in its way, and each case fails if its column leaves the guard.
IDENTITY_CHANGES = [
    ("wallet", "id = gen_random_uuid()"),
    ("wallet", "currency = 'USD'"),
    ("wallet", "livemode = false"),  # live money never turns into test money, nor back
    ("wallet", "merchant_id = gen_random_uuid()"),
    ("wallet", "code = 'funding'"),
    # A role decides its owner (account_owner_of_role), so the owner never changes alone.
    ("wallet", "owner_type = 'system', code = 'suspense'"),
    ("system", "name = 'renamed'"),  # a system account's name says which one it is (a connector, a bank account)
    ("wallet", "debits_must_not_exceed_credits = false"),
    ("system", "credits_must_not_exceed_debits = true"),
    ("wallet", "credits_must_not_exceed_debits = true, debits_must_not_exceed_credits = false"),
]


@pytest.mark.parametrize(("kind", "change"), IDENTITY_CHANGES)
def test_an_accounts_identity_and_overdraft_rule_never_change(books, kind, change):
    account = factories.wallet(merchant_id=books.funding.merchant_id) if kind == "wallet" else factories.account()
    before = ledger_snapshot()
    with pytest.raises(IntegrityError) as failure, transaction.atomic():
        execute(f"UPDATE ledger_account SET {change} WHERE id = %s", [str(account.pk)])
    assert ledger_snapshot() == before
    assert f"ledger account {account.pk}: its identity and overdraft rule never change" in str(failure.value)
    assert failure.value.__cause__.pgcode == "23001"  # restrict_violation


@pytest.mark.parametrize(("kind", "change"), IDENTITY_CHANGES)
def test_an_account_with_transfers_keeps_its_identity_too(books, kind, change):
    # The guard, or first a foreign key from its transfers or a CHECK on its balances, refuses it.
    account = books.wallet if kind == "wallet" else factories.account()
    if kind == "system":
        factories.fund(account, 10)
    refused(f"UPDATE ledger_account SET {change} WHERE id = %s", [str(account.pk)])


def test_the_guard_names_the_one_account_a_statement_over_many_reshapes(books):
    others = [factories.wallet(merchant_id=books.funding.merchant_id) for _ in range(3)]
    message = refused("UPDATE ledger_account SET name = CASE WHEN id = %s THEN 'renamed' ELSE name END",
                      [str(others[1].pk)])
    assert f"ledger account {others[1].pk}: its identity and overdraft rule never change" in message


def test_an_update_of_no_row_passes_whatever_it_would_set(books):
    # The guard runs once for the statement, over no rows, and finds nothing to refuse.
    before = ledger_snapshot()
    with transaction.atomic():
        execute("UPDATE ledger_account SET code = 'funding', credits_posted = credits_posted + 5 WHERE false")
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("owner_type", "merchant_id", "code"),
    [
        ("system", None, "merchant_pending"),
        ("merchant", uuid.UUID(int=1), "connector_clearing"),
        ("merchant", uuid.UUID(int=1), "wallet"),
        ("customer", uuid.UUID(int=1), "suspense"),
        ("customer", uuid.UUID(int=1), "merchant_available"),
    ],
)
def test_an_accounts_role_decides_its_owner(books, owner_type, merchant_id, code):
    message = refused(
        "INSERT INTO ledger_account (id, currency, livemode, owner_type, merchant_id, code, name, reference, "
        "metadata, debits_must_not_exceed_credits, credits_must_not_exceed_debits, frozen, closed, debits_pending, "
        "debits_posted, credits_pending, credits_posted, created_at) "
        "VALUES (%s, 'BHD', true, %s, %s, %s, '', '', '{}', false, false, false, false, 0, 0, 0, 0, %s)",
        [str(uuid.uuid4()), owner_type, merchant_id and str(merchant_id), code, clock.now()],
    )
    assert "account_owner_of_role" in message


# --- what a transfer row may say --------------------------------------------------------------


def test_a_transfer_of_zero_is_refused(books):
    sql, params = insert_transfer(debit_account_id=books.funding.pk, credit_account_id=books.wallet.pk, amount=0)
    assert "transfer_amount_positive" in refused(sql, params)


def test_a_transfer_from_an_account_to_itself_is_refused(books):
    sql, params = insert_transfer(debit_account_id=books.funding.pk, credit_account_id=books.funding.pk)
    assert "transfer_two_accounts" in refused(sql, params)


def test_a_transfer_in_another_currency_than_its_accounts_is_refused(books):
    sql, params = insert_transfer(debit_account_id=books.funding.pk, credit_account_id=books.wallet.pk,
                                  currency="USD")
    assert "transfer_debit_account_currency" in refused(sql, params)
    # Accounts of two currencies: whichever currency the row states, one account refuses it.
    sql, params = insert_transfer(debit_account_id=books.usd.pk, credit_account_id=books.wallet.pk, currency="BHD")
    assert "transfer_debit_account_currency" in refused(sql, params)
    sql, params = insert_transfer(debit_account_id=books.usd.pk, credit_account_id=books.wallet.pk, currency="USD")
    assert "transfer_credit_account_currency" in refused(sql, params)


def test_a_post_between_other_accounts_than_its_pendings_is_refused(books):
    other = factories.funding(merchant_id=books.funding.merchant_id)
    sql, params = insert_transfer(kind="post_pending", pending_id=books.hold.pk, debit_account_id=books.wallet.pk,
                                  credit_account_id=other.pk, amount=100)
    assert "transfer_resolution_same_accounts" in refused(sql, params)


def test_a_pending_is_resolved_once(books):
    void = factories.post_one(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=books.hold.pk)
    assert void.result == "ok"
    for kind in ("post_pending", "void_pending", "expire_pending"):
        sql, params = insert_transfer(kind=kind, pending_id=books.hold.pk, debit_account_id=books.wallet.pk,
                                      credit_account_id=books.funding.pk, amount=100)
        assert "transfer_pending_resolved_once" in refused(sql, params)


def test_a_transfer_is_reversed_once(books):
    factories.post_one(None, None, None, currency=None, kind=Kind.VOID_PENDING, pending_id=books.hold.pk)
    reversal = factories.post_one(None, None, None, currency=None, reverses_id=books.payment.pk)
    assert reversal.result == "ok"
    sql, params = insert_transfer(reverses_id=books.payment.pk, debit_account_id=books.wallet.pk,
                                  credit_account_id=books.funding.pk, amount=1_000)
    assert "transfer_reversed_once" in refused(sql, params)


def test_a_reversal_must_mirror_the_accounts_of_what_it_reverses(books):
    sql, params = insert_transfer(reverses_id=books.payment.pk, debit_account_id=books.funding.pk,
                                  credit_account_id=books.wallet.pk, amount=1_000)
    assert "transfer_reversal_mirrors_accounts" in refused(sql, params)


# --- balances ----------------------------------------------------------------------------------


def test_a_wallet_cannot_be_made_to_owe_by_raw_sql(books):
    # The wallet holds 1,000 and has 100 on hold: 900 more in debits is one too many.
    message = refused("UPDATE ledger_account SET debits_posted = 901 WHERE id = %s", [str(books.wallet.pk)])
    assert "account_debits_within_credits" in message
    message = refused("UPDATE ledger_account SET debits_pending = 1001 WHERE id = %s", [str(books.wallet.pk)])
    assert "account_debits_within_credits" in message


def test_an_account_that_may_not_hold_more_than_it_owes_cannot_by_raw_sql(books):
    liability = factories.account(credits_must_not_exceed_debits=True)
    message = refused("UPDATE ledger_account SET credits_posted = 1 WHERE id = %s", [str(liability.pk)])
    assert "account_credits_within_debits" in message


def test_balances_are_never_negative(books):
    assert "account_balances_non_negative" in refused(
        "UPDATE ledger_account SET debits_posted = -1 WHERE id = %s", [str(books.funding.pk)]
    )


@pytest.mark.parametrize("flag", ["frozen", "closed"])
@pytest.mark.parametrize(
    "change",
    [
        "credits_posted = credits_posted + 1",
        "debits_posted = debits_posted + 1",
        "debits_pending = debits_pending + 1",
        "credits_pending = credits_pending + 1",
        "credits_posted = credits_posted - 1",  # posted totals do not move either way
    ],
)
def test_a_frozen_or_closed_account_takes_no_new_money(books, flag, change):
    Account.objects.filter(pk=books.wallet.pk).update(**{flag: True})  # the guard allows flag changes
    before = ledger_snapshot()
    with pytest.raises(IntegrityError) as failure, transaction.atomic():
        execute(f"UPDATE ledger_account SET {change} WHERE id = %s", [str(books.wallet.pk)])
    assert ledger_snapshot() == before
    # Named before the imbalance the same statement makes.
    assert f"ledger account {books.wallet.pk} is frozen or closed: it takes no new transfers" in str(failure.value)
    assert failure.value.__cause__.pgcode == "23001"  # restrict_violation


@pytest.mark.parametrize("flag", ["frozen", "closed"])
def test_a_balanced_posting_to_an_account_frozen_in_the_same_statement_is_refused(books, flag):
    # The rule reads the flags the statement leaves: freezing and posting at once is posting to a frozen account.
    message = refused(
        f"UPDATE ledger_account SET {flag} = {flag} OR id = %s, "
        "debits_posted = debits_posted + CASE WHEN id = %s THEN 1 ELSE 0 END, "
        "credits_posted = credits_posted + CASE WHEN id = %s THEN 1 ELSE 0 END WHERE id IN (%s, %s)",
        [str(books.wallet.pk), str(books.funding.pk), str(books.wallet.pk), str(books.funding.pk),
         str(books.wallet.pk)],
    )
    assert f"ledger account {books.wallet.pk} is frozen or closed: it takes no new transfers" in message


# Raw balance changes below move both sides in one statement, as the engine does: the double-entry
# trigger (next section) refuses any statement whose debits and credits change apart.


@pytest.mark.parametrize("flag", ["frozen", "closed"])
def test_a_hold_may_end_on_a_frozen_or_closed_account(books, flag):
    Account.objects.filter(pk=books.wallet.pk).update(**{flag: True})
    with transaction.atomic():
        # The fixture's hold of 100, wallet -> funding, ends on both sides.
        execute(
            "UPDATE ledger_account SET debits_pending = debits_pending - CASE WHEN id = %s THEN 100 ELSE 0 END, "
            "credits_pending = credits_pending - CASE WHEN id = %s THEN 100 ELSE 0 END WHERE id IN (%s, %s)",
            [str(books.wallet.pk), str(books.funding.pk), str(books.wallet.pk), str(books.funding.pk)],
        )
    assert factories.balances(books.wallet) == (0, 0, 0, 1_000)
    assert factories.balances(books.funding) == (0, 1_000, 0, 0)


def test_flags_may_change_and_unfreezing_lets_money_move_again(books):
    Account.objects.filter(pk=books.wallet.pk).update(frozen=True, closed=True)
    Account.objects.filter(pk=books.wallet.pk).update(frozen=False, closed=False)
    with transaction.atomic():
        move_posted(books.funding, books.wallet, 1)
    assert factories.balances(books.wallet) == (100, 0, 0, 1_001)
    assert factories.balances(books.funding) == (0, 1_001, 100, 0)


# --- test and live money ------------------------------------------------------------------------


def test_a_transfer_between_accounts_of_the_other_mode_is_refused(books):
    test_funding = factories.funding(merchant_id=books.funding.merchant_id, livemode=False)
    test_wallet = factories.wallet(merchant_id=books.funding.merchant_id, livemode=False)
    # A test transfer between live accounts, and a live one between test accounts.
    sql, params = insert_transfer(debit_account_id=books.funding.pk, credit_account_id=books.wallet.pk,
                                  livemode=False)
    assert "transfer_debit_account_currency" in refused(sql, params)
    sql, params = insert_transfer(debit_account_id=test_funding.pk, credit_account_id=test_wallet.pk)
    assert "transfer_debit_account_currency" in refused(sql, params)
    # One account of each mode: whichever mode the row states, one account refuses it.
    sql, params = insert_transfer(debit_account_id=books.funding.pk, credit_account_id=test_wallet.pk)
    assert "transfer_credit_account_currency" in refused(sql, params)
    sql, params = insert_transfer(debit_account_id=books.funding.pk, credit_account_id=test_wallet.pk,
                                  livemode=False)
    assert "transfer_debit_account_currency" in refused(sql, params)


def test_a_transfer_between_accounts_of_its_own_mode_is_accepted(books):
    test_funding = factories.funding(merchant_id=books.funding.merchant_id, livemode=False)
    test_wallet = factories.wallet(merchant_id=books.funding.merchant_id, livemode=False)
    sql, params = insert_transfer(debit_account_id=test_funding.pk, credit_account_id=test_wallet.pk,
                                  livemode=False)
    with transaction.atomic():
        execute(sql, params)
    assert Transfer.objects.get(pk=params[0]).livemode is False


def test_a_client_id_is_unique_per_merchant_and_mode(books):
    merchant = books.funding.merchant_id
    test_funding = factories.funding(merchant_id=merchant, livemode=False)
    test_wallet = factories.wallet(merchant_id=merchant, livemode=False)
    live = {"debit_account_id": books.funding.pk, "credit_account_id": books.wallet.pk, "merchant_id": merchant,
            "client_id": "order-1"}
    test = {"debit_account_id": test_funding.pk, "credit_account_id": test_wallet.pk, "merchant_id": merchant,
            "client_id": "order-1", "livemode": False}
    with transaction.atomic():
        execute(*insert_transfer(**live))
        execute(*insert_transfer(**test))  # the same client id in the other mode: another transfer

    assert "transfer_client_id_once" in refused(*insert_transfer(**live))
    assert "transfer_client_id_once" in refused(*insert_transfer(**test))
    # fincore's own (no merchant) too, per mode.
    with transaction.atomic():
        execute(*insert_transfer(**{**live, "merchant_id": None, "client_id": "own-1"}))
        execute(*insert_transfer(**{**test, "merchant_id": None, "client_id": "own-1"}))
    assert "transfer_client_id_once" in refused(*insert_transfer(**{**test, "merchant_id": None, "client_id": "own-1"}))


# --- double entry ------------------------------------------------------------------------------


BALANCE_COLUMNS = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")


@pytest.mark.parametrize("column", BALANCE_COLUMNS)
def test_a_statement_changing_one_side_alone_is_refused(books, column):
    message = refused(f"UPDATE ledger_account SET {column} = {column} + 5 WHERE id = %s", [str(books.wallet.pk)])
    assert "ledger: BHD (live) would no longer balance; debits and credits change together" in message


def test_an_unbalanced_statement_is_refused_with_the_check_violation_code(books):
    with pytest.raises(IntegrityError) as failure, transaction.atomic():
        execute("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s",
                [str(books.wallet.pk)])
    assert failure.value.__cause__.pgcode == "23514"  # check_violation


def test_a_balanced_statement_over_two_accounts_passes(books):
    with transaction.atomic():
        move_posted(books.funding, books.wallet, 5)
    assert factories.balances(books.wallet) == (100, 0, 0, 1_005)
    assert factories.balances(books.funding) == (0, 1_005, 100, 0)
    # The trigger sees only that debits and credits moved together; the entries (ledger_verify)
    # show that no transfer moved them.
    assert selectors.ledger_verify().problem.startswith("every stored balance equals the sum of its entries")


def test_the_two_sides_of_one_change_in_two_statements_are_refused(books):
    # Together they would balance; each statement alone does not.
    before = ledger_snapshot()
    with pytest.raises(IntegrityError, match="BHD \\(live\\) would no longer balance"), transaction.atomic():
        execute("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s",
                [str(books.wallet.pk)])
        execute("UPDATE ledger_account SET debits_posted = debits_posted + 5 WHERE id = %s",
                [str(books.funding.pk)])
    assert ledger_snapshot() == before


def test_pending_and_posted_balance_each_on_their_own(books):
    # Posted debits against pending credits: the totals agree, each kind does not.
    message = refused(
        "UPDATE ledger_account SET debits_posted = debits_posted + CASE WHEN id = %s THEN 5 ELSE 0 END, "
        "credits_pending = credits_pending + CASE WHEN id = %s THEN 5 ELSE 0 END WHERE id IN (%s, %s)",
        [str(books.funding.pk), str(books.wallet.pk), str(books.funding.pk), str(books.wallet.pk)],
    )
    assert "ledger: BHD (live) would no longer balance" in message


def test_each_currency_and_each_mode_balance_on_their_own(books):
    usd_wallet = factories.wallet(currency="USD", merchant_id=books.funding.merchant_id)
    test_wallet = factories.wallet(merchant_id=books.funding.merchant_id, livemode=False)
    both = ("UPDATE ledger_account SET debits_posted = debits_posted + CASE WHEN id = %s THEN 5 ELSE 0 END, "
            "credits_posted = credits_posted + CASE WHEN id = %s THEN 5 ELSE 0 END WHERE id IN (%s, %s)")

    # Debits in one currency (or mode) and credits in another do not make a balance.
    across_currencies = refused(both, [str(books.funding.pk), str(usd_wallet.pk)] * 2)
    across_modes = refused(both, [str(books.funding.pk), str(test_wallet.pk)] * 2)
    in_test_mode = refused(
        "UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s", [str(test_wallet.pk)]
    )

    # Both groups are off; the trigger names whichever it finds first.
    assert re.search(r"ledger: (BHD|USD) \(live\) would no longer balance", across_currencies)
    assert re.search(r"ledger: BHD \((live|test)\) would no longer balance", across_modes)
    assert "ledger: BHD (test) would no longer balance" in in_test_mode


def test_a_statement_changing_no_balance_passes(books):
    with transaction.atomic():
        execute("UPDATE ledger_account SET reference = 'renamed', frozen = true WHERE id IN (%s, %s)",
                [str(books.wallet.pk), str(books.funding.pk)])
    assert list(Account.objects.filter(pk__in=[books.wallet.pk, books.funding.pk]).values_list(
        "reference", "frozen").distinct()) == [("renamed", True)]


@pytest.mark.parametrize("column", BALANCE_COLUMNS)
def test_a_new_account_starts_at_zero(books, column):
    now = clock.now()
    account_id = uuid.uuid4()
    message = refused(
        "INSERT INTO ledger_account (id, currency, livemode, owner_type, merchant_id, code, name, reference, "
        "metadata, debits_must_not_exceed_credits, credits_must_not_exceed_debits, frozen, closed, debits_pending, "
        "debits_posted, credits_pending, credits_posted, created_at) "
        f"VALUES (%s, 'BHD', true, 'system', NULL, 'suspense', 'raw', '', '{{}}', false, false, false, false, "
        f"{', '.join('5' if c == column else '0' for c in BALANCE_COLUMNS)}, %s)",
        [str(account_id), now],
    )
    assert f"ledger account {account_id}: a new account starts at zero; money arrives by transfer" in message


def test_a_new_account_with_a_balance_is_refused_through_the_orm_too(books):
    before = ledger_snapshot()
    with pytest.raises(IntegrityError, match="a new account starts at zero"), transaction.atomic():
        factories.account(credits_posted=1_000)
    assert ledger_snapshot() == before


def raw_transfer(debit: Account, credit: Account, amount: int) -> uuid.UUID:
    """A transfer row of ``amount`` with no entries yet."""
    sql, params = insert_transfer(debit_account_id=debit.pk, credit_account_id=credit.pk, amount=amount)
    with transaction.atomic():
        execute(sql, params)
    return uuid.UUID(params[0])


ENTRY = ("INSERT INTO ledger_entry (account_id, transfer_id, side, pending_change, posted_change, debits_pending, "
         "debits_posted, credits_pending, credits_posted, posted_at) VALUES ")
ENTRY_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def entry_row(account: Account, transfer_id: uuid.UUID, side: str, posted_change: int,
              after: tuple[int, int, int, int]) -> list:
    return [str(account.pk), str(transfer_id), side, 0, posted_change, *after, clock.now()]


def test_a_single_entry_is_refused(books):
    transfer_id = raw_transfer(books.funding, books.wallet, 10)

    debit_alone = refused(ENTRY + ENTRY_ROW, entry_row(books.funding, transfer_id, "D", 10, (0, 1_010, 100, 0)))
    credit_alone = refused(ENTRY + ENTRY_ROW, entry_row(books.wallet, transfer_id, "C", 10, (100, 0, 0, 1_010)))

    for message in (debit_alone, credit_alone):
        assert (f"ledger transfer {transfer_id}: its debit and credit entries are written together, "
                "with equal changes") in message


def test_a_pair_of_entries_with_unequal_changes_is_refused(books):
    transfer_id = raw_transfer(books.funding, books.wallet, 10)

    message = refused(
        ENTRY + ENTRY_ROW + ", " + ENTRY_ROW,
        entry_row(books.funding, transfer_id, "D", 10, (0, 1_010, 100, 0))
        + entry_row(books.wallet, transfer_id, "C", 9, (100, 0, 0, 1_009)),
    )
    assert f"ledger transfer {transfer_id}: its debit and credit entries are written together" in message


def test_one_lonely_entry_refuses_the_whole_statement(books):
    paired = raw_transfer(books.funding, books.wallet, 10)
    lonely = raw_transfer(books.funding, books.wallet, 10)
    # A good pair for one transfer and only the debit of another, in one statement (as a batch).
    rows = (entry_row(books.funding, paired, "D", 10, (0, 1_010, 100, 0))
            + entry_row(books.wallet, paired, "C", 10, (100, 0, 0, 1_010))
            + entry_row(books.funding, lonely, "D", 10, (0, 1_020, 100, 0)))

    message = refused(ENTRY + ", ".join([ENTRY_ROW] * 3), rows)

    assert f"ledger transfer {lonely}: its debit and credit entries are written together" in message
    assert not Entry.objects.filter(transfer_id__in=[paired, lonely]).exists()


def test_raw_sql_that_keeps_double_entry_is_accepted_and_verifies(books):
    # A transfer of 10 with its pair of entries in one statement and both balances in another:
    # what the engine writes, and so what ledger_verify accepts.
    transfer_id = raw_transfer(books.funding, books.wallet, 10)
    with transaction.atomic():
        execute(ENTRY + ENTRY_ROW + ", " + ENTRY_ROW,
                entry_row(books.funding, transfer_id, "D", 10, (0, 1_010, 100, 0))
                + entry_row(books.wallet, transfer_id, "C", 10, (100, 0, 0, 1_010)))
        move_posted(books.funding, books.wallet, 10)

    assert factories.balances(books.wallet) == (100, 0, 0, 1_010)
    assert selectors.ledger_verify() == selectors.VerifyReport(accounts=3, transfers=3, problem=None)
