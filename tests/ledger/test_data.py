"""The chart of accounts as data (apps.ledger.data): each role's owner, how many accounts it
has and its rules; what a reference to a role's account must say; and that the database's
codes are the roles."""

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.ledger.data import CHART, MERCHANT_ROLES, AccountRef, AccountRole, Owner, Per, TransferSpec
from apps.ledger.models import Account

MERCHANT = UUID("00000000-0000-0000-0000-00000000aaaa")


def test_the_chart_names_every_role_with_its_owner_its_number_and_its_rules():
    assert {
        role.value: (rules.owner.value, rules.per.value, rules.debits_must_not_exceed_credits,
                     rules.credits_must_not_exceed_debits)
        for role, rules in CHART.items()
    } == {
        "wallet": ("customer", "customer", True, False),
        "funding": ("customer", "customer", False, False),
        "merchant_pending": ("merchant", "merchant", True, False),
        "merchant_available": ("merchant", "merchant", True, False),
        "merchant_reserve": ("merchant", "merchant", True, False),
        "connector_clearing": ("system", "connector", False, False),
        "nostro": ("system", "bank_account", False, False),
        "payouts_in_transit": ("system", "ledger", False, False),
        "fee_revenue": ("system", "ledger", False, False),
        "fx_position": ("system", "ledger", False, False),
        "suspense": ("system", "ledger", False, False),
        "rounding": ("system", "ledger", False, False),
    }
    assert list(CHART) == list(AccountRole)
    assert MERCHANT_ROLES == (AccountRole.MERCHANT_PENDING, AccountRole.MERCHANT_AVAILABLE,
                              AccountRole.MERCHANT_RESERVE)
    assert [role for role, rules in CHART.items() if rules.named] == [AccountRole.CONNECTOR_CLEARING,
                                                                       AccountRole.NOSTRO]


def test_the_accounts_codes_and_owners_are_the_charts_roles_and_owners():
    assert Account.Code.choices == [(role.value, CHART[role].label) for role in AccountRole]
    assert [value for value, _ in Account.OwnerType.choices] == [owner.value for owner in Owner]
    # What the admin and the API have always shown.
    assert Account.Code.WALLET == "wallet" and Account.Code.MERCHANT_PENDING.label == "Merchant pending"


def test_references_name_each_kind_of_role_account():
    assert AccountRef(AccountRole.MERCHANT_PENDING, "BHD", True, merchant_id=MERCHANT).rules.owner is Owner.MERCHANT
    clearing = AccountRef(AccountRole.CONNECTOR_CLEARING, "BHD", False, name="card")
    assert (clearing.rules.per, clearing.name, clearing.livemode) == (Per.CONNECTOR, "card", False)
    assert AccountRef(AccountRole.NOSTRO, "USD", True, name="NBB BH67BMAG00001299123456").rules.named
    assert AccountRef("fee_revenue", "KWD", True).role is AccountRole.FEE_REVENUE  # a code is read as its role
    # Equal references are one account: a batch and its lookups key on them.
    assert AccountRef(AccountRole.SUSPENSE, "BHD", True) == AccountRef(AccountRole.SUSPENSE, "BHD", True)
    assert len({AccountRef(AccountRole.SUSPENSE, "BHD", True), AccountRef(AccountRole.SUSPENSE, "BHD", False)}) == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"role": AccountRole.WALLET, "merchant_id": MERCHANT}, "a wallet account is named by its id"),
        ({"role": AccountRole.FUNDING, "merchant_id": MERCHANT}, "a funding account is named by its id"),
        ({"role": AccountRole.MERCHANT_PENDING}, "a merchant_pending account is a merchant's: name the merchant"),
        ({"role": AccountRole.FEE_REVENUE, "merchant_id": MERCHANT}, "fincore's own, not a merchant's"),
        ({"role": AccountRole.CONNECTOR_CLEARING}, "a connector_clearing account is one per connector: name it"),
        ({"role": AccountRole.NOSTRO}, "a nostro account is one per bank account: name it"),
        ({"role": AccountRole.SUSPENSE, "name": "card"}, "a suspense account takes no name"),
        ({"role": AccountRole.MERCHANT_RESERVE, "merchant_id": MERCHANT, "name": "x"}, "takes no name"),
        ({"role": AccountRole.CONNECTOR_CLEARING, "name": "c" * 101}, "at most 100 characters"),
        ({"role": AccountRole.SUSPENSE, "currency": "bhd"}, "'bhd' is not an ISO 4217 currency code"),
        ({"role": AccountRole.SUSPENSE, "currency": "XTS"}, "'XTS' is not an ISO 4217 currency code"),
        ({"role": "ledger"}, "'ledger' is not a valid AccountRole"),
    ],
)
def test_a_reference_no_account_could_answer_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        AccountRef(**({"currency": "BHD", "livemode": True} | fields))


@given(
    role=st.sampled_from(AccountRole),
    merchant_id=st.none() | st.just(MERCHANT),
    name=st.sampled_from(["", "card", "NBB"]),
)
def test_a_reference_is_valid_exactly_when_it_says_what_its_role_needs(role, merchant_id, name):
    rules = CHART[role]
    valid = (rules.per is not Per.CUSTOMER and (merchant_id is not None) == (rules.owner is Owner.MERCHANT)
             and bool(name) == rules.named)
    try:
        ref = AccountRef(role, "BHD", True, merchant_id=merchant_id, name=name)
    except ValueError:
        assert not valid
    else:
        assert valid
        assert (ref.role, ref.merchant_id, ref.name) == (role, merchant_id, name)


def test_a_transfer_names_each_account_by_id_or_by_role_never_both():
    fees = AccountRef(AccountRole.FEE_REVENUE, "BHD", True)
    both = "a transfer names each of its accounts by id or by role, not both"
    with pytest.raises(ValueError, match=both):
        TransferSpec(client_id="c", debit_account_id=MERCHANT, debit_account_ref=fees)
    with pytest.raises(ValueError, match=both):
        TransferSpec(client_id="c", credit_account_id=MERCHANT, credit_account_ref=fees)
    spec = TransferSpec(client_id="c", debit_account_id=MERCHANT, credit_account_ref=fees, amount=1, currency="BHD")
    assert (spec.debit_account_id, spec.credit_account_ref) == (MERCHANT, fees)
