"""ledger_verify proves the invariants over all data and names the first violation; the command
and the nightly task keep the result and journal a failure; the expiry task releases holds."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connection

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.ledger import selectors, tasks
from apps.ledger.data import Kind, Result
from apps.ledger.models import Account, Transfer, Verification
from tests.factories import ledger as factories


def later() -> datetime:
    """An instant after every posting so far (the engine never stamps an account's entry earlier)."""
    return clock.now().replace(microsecond=0) + timedelta(days=1)


def execute(sql: str, params: list | tuple = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def behind_the_triggers(sql: str, params: list | tuple = ()) -> None:
    """Run ``sql`` with no trigger firing (the guard, double entry), as a careless restore would."""
    execute("SET session_replication_role = replica")
    try:
        execute(sql, params)
    finally:
        execute("SET session_replication_role = DEFAULT")


def raw_transfer(debit: Account, credit: Account, amount: int) -> uuid.UUID:
    transfer_id = uuid.uuid4()
    now = clock.now()
    execute(
        "INSERT INTO ledger_transfer (id, livemode, client_id, kind, debit_account_id, credit_account_id, currency, "
        "amount, code, reference, metadata, effective_at, created_at, created_by) "
        "VALUES (%s, %s, %s, 'immediate', %s, %s, %s, %s, '', '', '{}', %s, %s, 'raw sql')",
        [str(transfer_id), debit.livemode, f"raw-{transfer_id}", str(debit.pk), str(credit.pk), debit.currency,
         amount, now, now],
    )
    return transfer_id


def raw_entries(transfer_id: uuid.UUID, *sides: tuple[Account, str, int, tuple[int, int, int, int]]) -> None:
    """Both entries of a transfer, (account, side, posted change, balances after) each, in one statement."""
    execute(
        "INSERT INTO ledger_entry (account_id, transfer_id, side, pending_change, posted_change, debits_pending, "
        "debits_posted, credits_pending, credits_posted, posted_at) VALUES "
        + ", ".join(["(%s, %s, %s, 0, %s, %s, %s, %s, %s, %s)"] * len(sides)),
        [value for account, side, change, after in sides
         for value in (str(account.pk), str(transfer_id), side, change, *after, clock.now())],
    )


def entry_id(transfer_id: uuid.UUID, side: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM ledger_entry WHERE transfer_id = %s AND side = %s", [str(transfer_id), side])
        return cursor.fetchone()[0]


def test_a_clean_ledger_verifies_with_its_counts(books):
    assert selectors.ledger_verify() == selectors.VerifyReport(accounts=3, transfers=2, problem=None)


def test_a_currency_whose_debits_and_credits_differ_is_named(books):
    behind_the_triggers("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s",
                        [str(books.wallet.pk)])

    assert selectors.ledger_verify().problem == (
        "each currency's debits equal its credits: violated by BHD (live): debits (pending 100, posted 1000) <> "
        "credits (pending 100, posted 1005)"
    )


def test_each_mode_of_a_currency_must_balance_on_its_own(books):
    # 5 more credits in live BHD and 5 more debits in test BHD: BHD as a whole still balances.
    test_funding = factories.funding(merchant_id=books.funding.merchant_id, livemode=False)
    behind_the_triggers("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s",
                        [str(books.wallet.pk)])
    behind_the_triggers("UPDATE ledger_account SET debits_posted = debits_posted + 5 WHERE id = %s",
                        [str(test_funding.pk)])

    assert selectors.ledger_verify().problem == (
        "each currency's debits equal its credits: violated by BHD (live): debits (pending 100, posted 1000) <> "
        "credits (pending 100, posted 1005)"
    )
    behind_the_triggers("UPDATE ledger_account SET credits_posted = credits_posted - 5 WHERE id = %s",
                        [str(books.wallet.pk)])
    assert selectors.ledger_verify().problem == (
        "each currency's debits equal its credits: violated by BHD (test): debits (pending 0, posted 5) <> "
        "credits (pending 0, posted 0)"
    )


def test_test_money_verifies_with_live_money(books):
    test_wallet = factories.wallet(merchant_id=books.funding.merchant_id, livemode=False)
    factories.fund(test_wallet, 700)

    assert selectors.ledger_verify() == selectors.VerifyReport(accounts=5, transfers=3, problem=None)


def test_a_balance_altered_behind_the_engines_back_is_named_with_its_account(books):
    # Both sides altered alike, so the currency still balances: only the entries give it away.
    execute("SET session_replication_role = replica")  # no trigger fires, as for a careless restore
    try:
        execute("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s", [str(books.wallet.pk)])
        execute("UPDATE ledger_account SET debits_posted = debits_posted + 5 WHERE id = %s", [str(books.funding.pk)])
    finally:
        execute("SET session_replication_role = DEFAULT")

    problem = selectors.ledger_verify().problem
    first = min(books.wallet.pk, books.funding.pk)
    stored, summed = {
        books.wallet.pk: ("(100, 0, 0, 1005)", "(100, 0, 0, 1000)"),
        books.funding.pk: ("(0, 1005, 100, 0)", "(0, 1000, 100, 0)"),
    }[first]
    assert problem == (
        f"every stored balance equals the sum of its entries: violated by account {first}: "
        f"stored balances {stored} <> sums of its entries {summed}"
    )


def test_an_entry_whose_balances_do_not_follow_is_named(books):
    # A transfer of 10 with both entries, whose changes add up (as the double-entry triggers
    # require), but the wallet's entry claims balances after it that do not follow from the entry
    # before it: what no trigger checks.
    transfer_id = raw_transfer(books.funding, books.wallet, 10)
    raw_entries(transfer_id, (books.funding, "D", 10, (0, 1_010, 100, 0)),
                (books.wallet, "C", 10, (100, 0, 0, 9_999)))
    execute("UPDATE ledger_account SET debits_posted = CASE WHEN id = %s THEN 1010 ELSE debits_posted END, "
            "credits_posted = CASE WHEN id = %s THEN 1010 ELSE credits_posted END WHERE id IN (%s, %s)",
            [str(books.funding.pk), str(books.wallet.pk), str(books.funding.pk), str(books.wallet.pk)])

    assert selectors.ledger_verify().problem == (
        f"every entry's balances follow from the one before it: violated by entry {entry_id(transfer_id, 'C')} "
        f"of account {books.wallet.pk}: balances after it do not follow from the entry before"
    )


def test_a_transfer_missing_an_entry_is_named(books):
    transfer_id = raw_transfer(books.funding, books.wallet, 10)
    assert selectors.ledger_verify().problem == (
        f"every transfer has its two entries, matching its kind and amount: violated by transfer {transfer_id} "
        "(immediate of 10): its entries do not match it"
    )


@pytest.mark.parametrize(
    ("table", "trigger"),
    [
        ("ledger_transfer", "ledger_transfer_append_only"),
        ("ledger_entry", "ledger_entry_append_only"),
        ("ledger_account", "ledger_account_never_deleted"),
        ("ledger_account", "ledger_account_guard"),
        ("ledger_entry", "ledger_entries_in_pairs"),
        ("ledger_account", "ledger_account_balanced"),
        ("ledger_account", "ledger_account_starts_at_zero"),
    ],
)
def test_a_disabled_trigger_is_named(books, table, trigger):
    execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred foreign key check
    execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    assert selectors.ledger_verify().problem == f"triggers missing or disabled: {table}.{trigger}"


def test_the_triggers_checked_are_those_the_migrations_install(books):
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                       "WHERE NOT t.tgisinternal AND c.relname LIKE 'ledger%%'")
        installed = set(cursor.fetchall())
    assert installed == set(selectors.TRIGGERS)


def test_missing_triggers_are_named_together(books):
    execute("SET CONSTRAINTS ALL IMMEDIATE")
    execute("DROP TRIGGER ledger_entries_in_pairs ON ledger_entry")
    execute("DROP TRIGGER ledger_account_starts_at_zero ON ledger_account")
    assert selectors.ledger_verify().problem == (
        "triggers missing or disabled: ledger_entry.ledger_entries_in_pairs, "
        "ledger_account.ledger_account_starts_at_zero"
    )


# --- the command and the tasks -----------------------------------------------------------------


def test_the_command_passes_on_a_clean_ledger_and_journals_nothing(books, time_machine, capsys):
    noon = later()
    time_machine.move_to(noon, tick=False)
    call_command("ledger_verify")

    assert capsys.readouterr().out == "ledger verified: 3 accounts, 2 transfers\n"
    verification = Verification.objects.get()
    assert (verification.ok, verification.problem, verification.accounts, verification.transfers,
            verification.started_at, verification.finished_at) == (True, "", 3, 2, noon, noon)
    assert not AuditEvent.objects.filter(action="ledger.verification_failed").exists()


def test_the_command_fails_naming_the_violation_and_journals_it(books):
    execute("SET CONSTRAINTS ALL IMMEDIATE")
    execute("ALTER TABLE ledger_transfer DISABLE TRIGGER ledger_transfer_append_only")
    problem = "triggers missing or disabled: ledger_transfer.ledger_transfer_append_only"

    with pytest.raises(CommandError) as failure:
        call_command("ledger_verify")

    assert str(failure.value) == f"ledger invariant violated: {problem}"
    verification = Verification.objects.get()
    assert (verification.ok, verification.problem) == (False, problem)
    event = AuditEvent.objects.get(action="ledger.verification_failed")
    assert (event.actor_type, event.actor_label, event.object_type, event.object_id, event.after) == (
        "system", "manage.py ledger_verify", "ledger.verification", str(verification.pk), {"problem": problem}
    )


def test_the_command_line_exits_non_zero_with_the_message(books, capsys):
    behind_the_triggers("UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = %s",
                        [str(books.wallet.pk)])

    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "ledger_verify"])

    assert exit_.value.code == 1
    assert "CommandError: ledger invariant violated: each currency's debits equal its credits: violated by BHD " \
        "(live)" in capsys.readouterr().err


def test_the_verify_task_keeps_the_result_and_journals_a_failure(books):
    assert tasks.verify() is True
    assert not AuditEvent.objects.filter(action="ledger.verification_failed").exists()

    behind_the_triggers("UPDATE ledger_account SET debits_pending = 0 WHERE id = %s", [str(books.wallet.pk)])
    assert tasks.verify() is False

    assert list(Verification.objects.order_by("id").values_list("ok", flat=True)) == [True, False]
    failed = Verification.objects.get(ok=False)
    assert failed.problem == ("each currency's debits equal its credits: violated by BHD (live): debits (pending 0, "
                              "posted 1000) <> credits (pending 100, posted 1000)")
    event = AuditEvent.objects.get(action="ledger.verification_failed")
    assert (event.actor_label, event.object_id) == ("ledger.verify", str(failed.pk))


def test_the_expiry_task_releases_every_hold_past_its_timeout(books, time_machine):
    noon = later()
    time_machine.move_to(noon, tick=False)
    holds = [
        factories.post_one(books.wallet, books.funding, 50, kind=Kind.PENDING, timeout_seconds=seconds)
        for seconds in (30, 60, 120)
    ]
    assert factories.balances(books.wallet) == (250, 0, 0, 1_000)

    time_machine.move_to(noon + timedelta(seconds=60), tick=False)
    assert tasks.expire_pending() == 2  # the 30 s and the 60 s holds: at its deadline a hold has expired
    assert factories.balances(books.wallet) == (150, 0, 0, 1_000)
    assert factories.balances(books.funding) == (0, 1_000, 150, 0)
    assert tasks.expire_pending() == 0

    expiries = Transfer.objects.filter(kind=Kind.EXPIRE_PENDING).order_by("created_at", "id")
    assert sorted(t.pending_id for t in expiries) == sorted(h.transfer_id for h in holds[:2])
    assert {(t.amount, t.created_by, t.debit_account_id, t.credit_account_id, t.livemode) for t in expiries} == {
        (50, "ledger.expire_pending", books.wallet.pk, books.funding.pk, True)
    }
    # In the reserved namespace, so no client id a merchant may use can collide with an expiry.
    assert sorted(t.client_id for t in expiries) == sorted(f"fincore:expire:{h.transfer_id}" for h in holds[:2])
    # A hold without timeout (the fixture's) and the one not yet due are untouched.
    late_post = factories.post_one(None, None, None, currency=None, kind=Kind.POST_PENDING,
                                   pending_id=holds[0].transfer_id)
    assert late_post.result == Result.PENDING_EXPIRED
    assert selectors.ledger_verify().ok


def test_the_expiry_task_releases_test_and_live_holds_each_in_its_mode(books, time_machine):
    noon = later()
    time_machine.move_to(noon, tick=False)
    merchant = books.funding.merchant_id
    test_wallet = factories.wallet(merchant_id=merchant, livemode=False)
    test_funding = factories.fund(test_wallet, 500)
    # The same client id in both modes: two holds, each with its code and reference.
    test_hold = factories.post_one(test_wallet, test_funding, 200, kind=Kind.PENDING, timeout_seconds=30,
                                   livemode=False, merchant_id=merchant, client_id="order-1", code="order",
                                   reference="test order 1")
    live_hold = factories.post_one(books.wallet, books.funding, 50, kind=Kind.PENDING, timeout_seconds=30,
                                   merchant_id=merchant, client_id="order-1", code="order", reference="order 1")
    assert (test_hold.result, live_hold.result) == (Result.OK, Result.OK)

    time_machine.move_to(noon + timedelta(seconds=30), tick=False)
    assert tasks.expire_pending() == 2

    expiries = {t.pending_id: t for t in Transfer.objects.filter(kind=Kind.EXPIRE_PENDING)}
    assert {
        pending_id: (t.livemode, t.merchant_id, t.client_id, t.code, t.reference, t.amount)
        for pending_id, t in expiries.items()
    } == {
        test_hold.transfer_id: (False, merchant, f"fincore:expire:{test_hold.transfer_id}", "order", "test order 1",
                                200),
        live_hold.transfer_id: (True, merchant, f"fincore:expire:{live_hold.transfer_id}", "order", "order 1", 50),
    }
    assert factories.balances(test_wallet) == (0, 0, 0, 500)
    assert factories.balances(books.wallet) == (100, 0, 0, 1_000)  # the fixture's hold has no timeout
    assert selectors.ledger_verify().ok


def test_the_expiry_task_goes_on_past_one_batch(books, time_machine, monkeypatch):
    from apps.ledger import services

    noon = later()
    time_machine.move_to(noon, tick=False)
    for _ in range(5):
        factories.post_one(books.wallet, books.funding, 10, kind=Kind.PENDING, timeout_seconds=1)
    time_machine.move_to(noon + timedelta(seconds=1), tick=False)
    calls = []
    original = services.pending_transfers_expire

    def two_at_a_time(*, limit: int = 1000) -> int:
        calls.append(limit)
        return original(limit=2)

    monkeypatch.setattr(services, "pending_transfers_expire", two_at_a_time)
    assert tasks.expire_pending() == 5
    assert len(calls) == 4  # 2 + 2 + 1, then one that finds nothing
    assert factories.balances(books.wallet) == (100, 0, 0, 1_000)
