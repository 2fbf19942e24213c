"""The ledger's invariants hold in PostgreSQL itself, for raw SQL that bypasses the engine.

Each refused statement runs in its own savepoint (``transaction.atomic``), so the error is
contained; the test then shows that nothing changed.
"""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from apps.core import clock
from apps.ledger.data import Kind
from apps.ledger.models import Account
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
        "id": uuid.uuid4(), "merchant_id": None, "client_id": f"raw-{uuid.uuid4()}", "kind": "immediate",
        "debit_account_id": None, "credit_account_id": None, "currency": "BHD", "amount": 10, "pending_id": None,
        "reverses_id": None, "expires_at": None, "code": "", "reference": "", "metadata": "{}", "effective_at": now,
        "created_at": now, "created_by": "raw sql",
    } | fields
    columns = ", ".join(row)
    return f"INSERT INTO ledger_transfer ({columns}) VALUES ({', '.join(['%s'] * len(row))})", [
        str(v) if isinstance(v, uuid.UUID) else v for v in row.values()
    ]


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


@pytest.mark.parametrize(
    "change",
    [
        "currency = 'USD'",
        "owner_type = 'system'",
        "merchant_id = gen_random_uuid()",
        "code = 'funding'",
        "debits_must_not_exceed_credits = false",
        "credits_must_not_exceed_debits = true, debits_must_not_exceed_credits = false",
    ],
)
def test_an_accounts_identity_and_overdraft_rule_never_change(books, change):
    message = refused(f"UPDATE ledger_account SET {change} WHERE id = %s", [str(books.wallet.pk)])
    assert f"ledger account {books.wallet.pk}: its identity and overdraft rule never change" in message


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
    ],
)
def test_a_frozen_or_closed_account_takes_no_new_money(books, flag, change):
    Account.objects.filter(pk=books.wallet.pk).update(**{flag: True})  # the guard allows flag changes
    message = refused(f"UPDATE ledger_account SET {change} WHERE id = %s", [str(books.wallet.pk)])
    assert f"ledger account {books.wallet.pk} is frozen or closed: it takes no new transfers" in message


@pytest.mark.parametrize("flag", ["frozen", "closed"])
def test_a_hold_may_end_on_a_frozen_or_closed_account(books, flag):
    Account.objects.filter(pk=books.wallet.pk).update(**{flag: True})
    with transaction.atomic():
        execute("UPDATE ledger_account SET debits_pending = debits_pending - 100 WHERE id = %s",
                [str(books.wallet.pk)])
    assert factories.balances(books.wallet) == (0, 0, 0, 1_000)


def test_flags_may_change_and_unfreezing_lets_money_move_again(books):
    Account.objects.filter(pk=books.wallet.pk).update(frozen=True, closed=True)
    Account.objects.filter(pk=books.wallet.pk).update(frozen=False, closed=False)
    with transaction.atomic():
        execute("UPDATE ledger_account SET credits_posted = credits_posted + 1 WHERE id = %s",
                [str(books.wallet.pk)])
    assert factories.balances(books.wallet) == (100, 0, 0, 1_001)
