"""Opening accounts: customer accounts, and a merchant's settlement accounts per currency and
mode (through the merchants app), race-safe; and the transfer services' refusals and modes.
fincore's own accounts are opened by the postings that name them (test_engine_roles)."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.core import clock
from apps.ledger import selectors, services
from apps.ledger.data import AccountRef, AccountRole, Kind, Result, TransferSpec
from apps.ledger.models import Account, Transfer
from apps.merchants import services as merchant_services
from tests.factories import ledger as factories
from tests.factories.ledger import FACTORY_ACTOR
from tests.factories.merchants import MerchantFactory
from tests.ledger.conftest import in_threads


def merchant_accounts(merchant_id) -> list[tuple]:
    return sorted(
        Account.objects.filter(merchant_id=merchant_id).values_list(
            "currency", "livemode", "code", "owner_type", "debits_must_not_exceed_credits",
            "credits_must_not_exceed_debits", "debits_posted", "credits_posted",
        )
    )


def settlement_accounts(currency: str) -> list[tuple]:
    """A merchant's three settlement accounts in ``currency``, in test mode and in live mode."""
    return [(currency, livemode, code, "merchant", True, False, 0, 0)
            for livemode in (False, True)
            for code in ("merchant_available", "merchant_pending", "merchant_reserve")]


@pytest.mark.django_db
def test_a_new_merchant_has_pending_available_and_reserve_accounts_in_each_currency():
    merchant = MerchantFactory(currencies=["BHD", "USD"])
    assert merchant_accounts(merchant.pk) == settlement_accounts("BHD") + settlement_accounts("USD")


@pytest.mark.django_db
def test_adding_a_currency_opens_its_accounts_and_removing_one_keeps_them():
    merchant = MerchantFactory(currencies=["BHD"])
    merchant_services.merchant_update(merchant_id=merchant.pk, changes={"currencies": ["BHD", "KWD"]},
                                      actor=FACTORY_ACTOR, reason="expanding to Kuwait")
    assert merchant_accounts(merchant.pk) == settlement_accounts("BHD") + settlement_accounts("KWD")

    merchant_services.merchant_update(merchant_id=merchant.pk, changes={"currencies": ["KWD"]},
                                      actor=FACTORY_ACTOR, reason="leaving Bahrain")
    assert merchant_accounts(merchant.pk) == settlement_accounts("BHD") + settlement_accounts("KWD")


@pytest.mark.django_db
def test_opening_settlement_accounts_again_opens_nothing_new():
    merchant_id = uuid.uuid4()
    first = services.merchant_accounts_open(merchant_id=merchant_id, currencies=["BHD"])
    again = services.merchant_accounts_open(merchant_id=merchant_id, currencies=["BHD"])
    assert [a.pk for a in again] == [a.pk for a in first]
    assert Account.objects.filter(merchant_id=merchant_id).count() == 6
    assert [(a.livemode, a.code) for a in first] == [
        (livemode, code) for livemode in (True, False)
        for code in ("merchant_pending", "merchant_available", "merchant_reserve")
    ]


@pytest.mark.django_db
def test_settlement_accounts_in_any_number_of_currencies_are_opened_in_two_statements():
    merchant_id = uuid.uuid4()
    services.merchant_accounts_open(merchant_id=merchant_id, currencies=["BHD"])
    with CaptureQueriesContext(connection) as queries:
        opened = services.merchant_accounts_open(merchant_id=merchant_id, currencies=["KWD", "BHD", "USD"])
    assert len(queries) == 2
    assert [(a.currency, a.livemode, a.code) for a in opened][::3] == [
        ("KWD", True, "merchant_pending"), ("KWD", False, "merchant_pending"), ("BHD", True, "merchant_pending"),
        ("BHD", False, "merchant_pending"), ("USD", True, "merchant_pending"), ("USD", False, "merchant_pending"),
    ]
    assert Account.objects.filter(merchant_id=merchant_id).count() == 18


@pytest.mark.django_db(transaction=True)
def test_two_openings_at_once_open_one_set_of_settlement_accounts(idle_sessions_ended_at_exit, monkeypatch):
    # Both insert at once, each in its own transaction: the second waits on the first's rows, does
    # nothing, and then reads the accounts the first committed.
    both_ready = threading.Barrier(2)
    real_bulk_create = Account.objects.bulk_create

    def bulk_create_together(*args, **kwargs):
        both_ready.wait(10)
        return real_bulk_create(*args, **kwargs)

    monkeypatch.setattr(Account.objects, "bulk_create", bulk_create_together)
    merchant_id = uuid.uuid4()

    def open_accounts(_):
        with transaction.atomic():
            return [a.pk for a in services.merchant_accounts_open(merchant_id=merchant_id, currencies=["BHD"])]

    first, second = in_threads(open_accounts, 2)

    assert first == second
    assert Account.objects.filter(merchant_id=merchant_id).count() == 6


@pytest.mark.django_db
def test_each_mode_has_its_own_settlement_accounts():
    merchant_id = uuid.uuid4()
    services.merchant_accounts_open(merchant_id=merchant_id, currencies=["BHD"])

    def available(currency: str, livemode: bool) -> Account | None:
        return selectors.role_account_get(
            ref=AccountRef(AccountRole.MERCHANT_AVAILABLE, currency, livemode, merchant_id=merchant_id))

    live, test = available("BHD", True), available("BHD", False)

    assert (live.livemode, test.livemode) == (True, False)
    assert live.pk != test.pk
    assert available("USD", True) is None


@pytest.mark.django_db
def test_a_customer_account_is_a_wallet_unless_it_may_go_negative_and_its_opening_is_journaled():
    merchant_id = uuid.uuid4()
    wallet = services.customer_account_open(merchant_id=merchant_id, currency="BHD", actor=FACTORY_ACTOR,
                                            reference="cust-1", metadata={"tier": "gold"})
    funding = services.customer_account_open(merchant_id=merchant_id, currency="BHD", actor=FACTORY_ACTOR,
                                             allow_overdraft=True)
    assert (wallet.owner_type, wallet.code, wallet.debits_must_not_exceed_credits, wallet.reference,
            wallet.metadata) == ("customer", "wallet", True, "cust-1", {"tier": "gold"})
    assert (funding.code, funding.debits_must_not_exceed_credits) == ("funding", False)
    assert (wallet.livemode, funding.livemode) == (True, True)
    event = AuditEvent.objects.get(object_id=str(wallet.pk))
    assert (event.action, event.merchant_id, event.after) == (
        "ledger.account_opened", str(merchant_id),
        {"currency": "BHD", "livemode": True, "code": "wallet", "reference": "cust-1"},
    )


@pytest.mark.django_db
def test_a_customer_account_opened_in_test_mode_is_seen_only_in_test_mode():
    merchant_id = uuid.uuid4()
    test_wallet = services.customer_account_open(merchant_id=merchant_id, currency="BHD", actor=FACTORY_ACTOR,
                                                 livemode=False, reference="cust-1")
    live_wallet = services.customer_account_open(merchant_id=merchant_id, currency="BHD", actor=FACTORY_ACTOR,
                                                 reference="cust-1")

    assert test_wallet.livemode is False
    assert AuditEvent.objects.get(object_id=str(test_wallet.pk)).after == {
        "currency": "BHD", "livemode": False, "code": "wallet", "reference": "cust-1"}
    for livemode, own, other in ((False, test_wallet, live_wallet), (True, live_wallet, test_wallet)):
        assert list(selectors.customer_accounts(merchant_id=merchant_id, livemode=livemode)) == [own]
        assert list(selectors.customer_account_list(merchant_id=merchant_id, livemode=livemode,
                                                    reference="cust-1")) == [own]
        assert selectors.customer_account_get(merchant_id=merchant_id, livemode=livemode, account_id=own.pk) == own
        assert selectors.customer_account_get(merchant_id=merchant_id, livemode=livemode,
                                              account_id=other.pk) is None


@pytest.mark.django_db
def test_an_account_in_no_currency_is_refused_and_nothing_is_written():
    with pytest.raises(services.InvalidAccount, match="'XTS' is not an ISO 4217 currency code"):
        services.customer_account_open(merchant_id=uuid.uuid4(), currency="XTS", actor=FACTORY_ACTOR)
    assert not Account.objects.exists()
    assert not AuditEvent.objects.exists()


# --- transfers -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("timeout", [0, -60])
def test_a_hold_with_a_timeout_that_is_not_positive_is_refused(timeout):
    wallet = factories.wallet()
    source = factories.fund(wallet, 100)
    before = (Transfer.objects.count(), factories.balances(wallet))

    with pytest.raises(services.TransferRefused) as refused:
        services.transfer_create(spec=factories.spec(wallet, source, 10, kind=Kind.PENDING, timeout_seconds=timeout))

    assert (refused.value.code, refused.value.result, refused.value.status) == (
        "timeout_must_be_positive", Result.TIMEOUT_MUST_BE_POSITIVE, 422)
    assert refused.value.title == "A timeout is a positive number of seconds"
    assert (Transfer.objects.count(), factories.balances(wallet)) == before


@pytest.mark.django_db
@pytest.mark.parametrize("livemode", [True, False])
def test_resolutions_and_reversals_act_in_the_mode_they_are_asked_in(livemode):
    merchant_id = uuid.uuid4()
    wallet = factories.wallet(merchant_id=merchant_id, livemode=livemode)
    source = factories.fund(wallet, 1_000)
    hold = factories.post_one(wallet, source, 100, kind=Kind.PENDING, livemode=livemode, code="order",
                              reference="order 1")
    purchase = factories.post_one(wallet, source, 200, livemode=livemode, reference="order 2")
    other_mode = not livemode

    # Asked in the other mode, each is not found ...
    with pytest.raises(services.TransferRefused) as not_found:
        services.transfer_post_pending(pending_id=hold.transfer_id, actor=FACTORY_ACTOR, livemode=other_mode)
    assert not_found.value.code == "pending_not_found"
    with pytest.raises(services.TransferRefused) as not_found:
        services.transfer_void_pending(pending_id=hold.transfer_id, actor=FACTORY_ACTOR, livemode=other_mode)
    assert not_found.value.code == "pending_not_found"
    with pytest.raises(services.TransferRefused) as not_found:
        services.transfer_reverse(transfer_id=purchase.transfer_id, actor=FACTORY_ACTOR, livemode=other_mode)
    assert not_found.value.code == "reversed_transfer_not_found"

    # ... and in their own, done, with the code and reference of what they act on.
    post = services.transfer_post_pending(pending_id=hold.transfer_id, actor=FACTORY_ACTOR, livemode=livemode,
                                          amount=60)
    reversal = services.transfer_reverse(transfer_id=purchase.transfer_id, actor=FACTORY_ACTOR, livemode=livemode)
    assert (post.transfer.livemode, post.transfer.code, post.transfer.reference, post.transfer.amount) == (
        livemode, "order", "order 1", 60)
    assert (reversal.transfer.livemode, reversal.transfer.code, reversal.transfer.reference) == (
        livemode, "reversal", "order 2")
    assert factories.balances(wallet) == (0, 260, 0, 1_200)


@pytest.mark.django_db
def test_batch_refusals_are_told_apart_in_a_fixed_number_of_queries():
    # Reversals of purchases whose money the shop (a wallet) spent: insufficient_funds, found
    # through the transfers they reverse; a merchant's settlement account (not a wallet) that
    # may not owe: exceeds_credits.
    wallet = factories.wallet()
    shop = factories.wallet(merchant_id=wallet.merchant_id)
    source = factories.fund(wallet, 1_000)
    purchases = [factories.post_one(wallet, shop, 10).transfer_id for _ in range(22)]
    assert factories.post_one(shop, source, 220).result == Result.OK
    available = services.merchant_accounts_open(merchant_id=wallet.merchant_id, currencies=["BHD"])[1]
    assert (available.code, available.livemode) == ("merchant_available", True)

    def refused(purchase_ids) -> list:
        return [TransferSpec(client_id=factories.client_id(), reverses_id=p, code="reversal") for p in purchase_ids] \
            + [factories.spec(available, source, 5)]

    with CaptureQueriesContext(connection) as few:
        items = services.transfers_batch(specs=refused(purchases[:2]), atomic=False)
    assert [item.result for item in items] == ["insufficient_funds"] * 2 + ["exceeds_credits"]
    with CaptureQueriesContext(connection) as many:
        items = services.transfers_batch(specs=refused(purchases[2:]), atomic=False)

    assert [item.result for item in items] == ["insufficient_funds"] * 20 + ["exceeds_credits"]
    assert [type(item.refusal) for item in items] == [services.InsufficientFunds] * 20 + [
        services.REFUSALS[Result.EXCEEDS_CREDITS]]
    assert len(many) <= len(few)


def as_read_back(transfer: Transfer) -> dict:
    return {field.attname: getattr(transfer, field.attname) for field in Transfer._meta.concrete_fields}


@pytest.mark.django_db
def test_the_transfers_the_services_return_are_the_rows_they_wrote_without_reading_them_back():
    wallet = factories.wallet()
    shop = factories.wallet(merchant_id=wallet.merchant_id)
    factories.fund(wallet, 1_000)
    effective_at = clock.now() - timedelta(days=3)
    specs = [
        factories.spec(wallet, shop, 10, merchant_id=wallet.merchant_id, code="purchase", reference="order 7",
                       metadata={"zeta": [1, 2], "alpha": {"nested": True}}, effective_at=effective_at,
                       created_by="shop's checkout"),
        factories.spec(wallet, shop, 20, kind=Kind.PENDING, timeout_seconds=600, code="hold"),
    ]

    with CaptureQueriesContext(connection) as written:
        posted = [services.transfer_create(spec=spec) for spec in specs]
    hold = posted[1].transfer
    resolved = [
        services.transfer_post_pending(pending_id=hold.pk, actor=FACTORY_ACTOR, livemode=True, amount=5),
        services.transfer_reverse(transfer_id=posted[0].transfer.pk, actor=FACTORY_ACTOR, livemode=True),
    ]
    batch = services.transfers_batch(specs=[specs[0], factories.spec(wallet, shop, 30)], atomic=False)

    returned = [p.transfer for p in posted + resolved] + [item.transfer for item in batch]
    assert [p.created for p in posted + resolved] == [True] * 4
    assert [item.result for item in batch] == ["exists", "ok"]
    assert not [q for q in written if q["sql"].startswith("SELECT") and 'FROM "ledger_transfer"' in q["sql"]]
    read_back = Transfer.objects.in_bulk([t.pk for t in returned])
    assert [as_read_back(t) for t in returned] == [as_read_back(read_back[t.pk]) for t in returned]
    assert returned[0].effective_at == effective_at and returned[1].expires_at is not None
    assert (returned[2].code, returned[2].reference, returned[2].amount) == ("hold", "", 5)
    assert not any(t._state.adding for t in returned)
