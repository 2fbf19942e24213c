"""Opening accounts: customer accounts, a merchant's settlement accounts per currency (through
the merchants app), and fincore's own system accounts, race-safe."""

import uuid

import pytest

from apps.audit.models import AuditEvent
from apps.ledger import services
from apps.ledger.models import Account
from apps.merchants import services as merchant_services
from tests.factories.ledger import FACTORY_ACTOR
from tests.factories.merchants import MerchantFactory
from tests.ledger.conftest import in_threads


def merchant_accounts(merchant_id) -> list[tuple]:
    return sorted(
        Account.objects.filter(merchant_id=merchant_id).values_list(
            "currency", "code", "owner_type", "debits_must_not_exceed_credits", "credits_must_not_exceed_debits",
            "debits_posted", "credits_posted",
        )
    )


def settlement_accounts(currency: str) -> list[tuple]:
    return [(currency, code, "merchant", True, False, 0, 0)
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
    assert Account.objects.filter(merchant_id=merchant_id).count() == 3


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
    event = AuditEvent.objects.get(object_id=str(wallet.pk))
    assert (event.action, event.merchant_id, event.after) == (
        "ledger.account_opened", str(merchant_id), {"currency": "BHD", "code": "wallet", "reference": "cust-1"})


@pytest.mark.django_db
def test_an_account_in_no_currency_is_refused_and_nothing_is_written():
    with pytest.raises(services.InvalidAccount, match="'XTS' is not an ISO 4217 currency code"):
        services.customer_account_open(merchant_id=uuid.uuid4(), currency="XTS", actor=FACTORY_ACTOR)
    with pytest.raises(services.InvalidAccount):
        services.system_account(code=Account.Code.FEE_REVENUE, currency="bhd")
    assert not Account.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_a_system_account_is_opened_on_first_use_and_found_after():
    first = services.system_account(code=Account.Code.CONNECTOR_CLEARING, currency="BHD", name="benefit")
    again = services.system_account(code=Account.Code.CONNECTOR_CLEARING, currency="BHD", name="benefit")
    other = services.system_account(code=Account.Code.CONNECTOR_CLEARING, currency="BHD", name="card")
    assert again.pk == first.pk != other.pk
    assert (first.owner_type, first.merchant_id, first.code, first.name, first.debits_must_not_exceed_credits) == (
        "system", None, "connector_clearing", "benefit", False)


@pytest.mark.django_db(transaction=True)
def test_two_first_uses_at_once_open_one_system_account(monkeypatch):
    # Both callers have looked and found nothing before either creates: the unique constraint decides.
    import threading

    both_looked = threading.Barrier(2)
    real_create = Account.objects.create

    def create_after_both_looked(**fields):
        both_looked.wait(10)
        return real_create(**fields)

    monkeypatch.setattr(Account.objects, "create", create_after_both_looked)

    accounts = in_threads(lambda _: services.system_account(code=Account.Code.FEE_REVENUE, currency="BHD"), 2)

    assert accounts[0].pk == accounts[1].pk
    assert Account.objects.filter(code="fee_revenue", currency="BHD").count() == 1
