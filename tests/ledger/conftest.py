"""Fixtures for the ledger's engine and invariant tests."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection

from apps.ledger.data import Kind, Result
from apps.ledger.models import Account, Entry, Transfer
from tests.factories import ledger as factories


@dataclass
class Books:
    """A small ledger: a BHD funding account paid 1,000 into a wallet, which holds 100 of it for
    the funding account; a USD funding account stands apart."""

    funding: Account
    wallet: Account
    usd: Account
    payment: Transfer  # immediate, funding -> wallet, 1,000
    hold: Transfer  # pending, wallet -> funding, 100


@pytest.fixture
def books(db) -> Books:
    funding = factories.funding(reference="funding")
    wallet = factories.wallet(merchant_id=funding.merchant_id, reference="wallet")
    usd = factories.funding(currency="USD", merchant_id=funding.merchant_id, reference="usd")
    payment = factories.post_one(funding, wallet, 1_000, client_id="payment")
    hold = factories.post_one(wallet, funding, 100, kind=Kind.PENDING, client_id="hold")
    assert (payment.result, hold.result) == (Result.OK, Result.OK)
    return Books(funding, wallet, usd, Transfer.objects.get(pk=payment.transfer_id),
                 Transfer.objects.get(pk=hold.transfer_id))


def ledger_snapshot() -> tuple:
    """Everything the ledger holds, to show that a refused statement changed nothing."""
    return (
        list(Account.objects.order_by("id").values_list(
            "id", "currency", "owner_type", "merchant_id", "code", "debits_must_not_exceed_credits",
            "credits_must_not_exceed_debits", "frozen", "closed", "debits_pending", "debits_posted",
            "credits_pending", "credits_posted")),
        list(Transfer.objects.order_by("id").values_list("id", "kind", "amount", "debit_account_id",
                                                         "credit_account_id", "currency")),
        list(Entry.objects.order_by("id").values_list("id", "account_id", "transfer_id", "pending_change",
                                                      "posted_change", "debits_posted", "credits_posted")),
    )


def in_threads(work: Callable[[int], Any], count: int, *, timeout: float = 120) -> list[Any]:
    """Run ``work(n)`` for n in range(count), each in its own thread with its own database
    connection, started together; returns their results in order, or raises the first error."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            start.wait(30)
            results[number] = work(number)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    if errors:
        raise errors[0]
    return results
