"""Customer accounts through the API: opening, reading, listing, balances and statements, and
what a wallet (no overdraft) and a funding account (may go negative) each allow."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.ledger.models import Account
from apps.merchants.models import ApiKey
from tests.core.api.assertions import assert_problem
from tests.factories.merchants import api_key_issue, api_key_of, authenticated_client, merchant_with_key
from tests.ledger.api_helpers import (
    ACCOUNTS,
    acc,
    account_opened,
    balance,
    ledger_snapshot,
    money,
    open_account,
    pk_of,
    post_transfer,
    transfer,
    transfer_posted,
)
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

T0 = a_day_ahead()  # later than the merchant and key fixtures make at the present


@pytest.fixture
def other():
    """Merchant B and a client holding its key."""
    other_merchant, other_secret = merchant_with_key(legal_name="Other Shop B.S.C.", currencies=["BHD", "USD"])
    return other_merchant, authenticated_client(other_secret)


@pytest.fixture
def theirs(other) -> dict:
    """A wallet of merchant B's."""
    return open_account(other[1], reference="their customer")


@pytest.fixture
def live_client(merchant):
    """A client holding a live key of the same merchant as ``merchant_client`` (a test key)."""
    return authenticated_client(api_key_issue(merchant, mode=ApiKey.Mode.LIVE, name="live checkout server"))


# --- opening ---------------------------------------------------------------------------------


def test_opening_a_wallet(merchant, merchant_client, secret):
    with time_machine.travel(T0, tick=False):
        response = merchant_client.post(
            ACCOUNTS, {"currency": "BHD", "reference": "cust-42", "metadata": {"tier": "gold", "n": 1}},
            format="json",
        )

    assert response.status_code == 201, response.content
    body = response.json()
    account = Account.objects.get(owner_type="customer")
    assert body == {
        "id": acc(account.pk),
        "currency": "BHD",
        "livemode": False,  # opened with a test key
        "reference": "cust-42",
        "metadata": {"tier": "gold", "n": 1},
        "allow_overdraft": False,
        "frozen": False,
        "closed": False,
        "balance": money(0, 0, 0),
        "created": timezone.localtime(T0).isoformat(),
    }
    assert response["Location"] == f"/api/v1/accounts/{body['id']}"
    assert (account.owner_type, account.code, account.merchant_id, account.livemode) == (
        "customer", "wallet", merchant.pk, False)
    assert (account.debits_must_not_exceed_credits, account.credits_must_not_exceed_debits) == (True, False)
    assert account.created_at == T0
    event = AuditEvent.objects.get(action="ledger.account_opened")
    caller = api_key_of(secret)
    assert (event.actor_type, event.actor_id) == ("api_key", ids.encode("key", caller.pk))
    assert event.merchant_id == str(merchant.pk)
    assert (event.object_type, event.object_id) == ("ledger.account", str(account.pk))
    assert event.after == {"currency": "BHD", "livemode": False, "code": "wallet", "reference": "cust-42"}
    assert event.request_id == response["X-Request-Id"]


def test_opening_a_funding_account_that_may_go_negative(merchant_client):
    body = open_account(merchant_client, allow_overdraft=True)

    assert body["allow_overdraft"] is True
    account = Account.objects.get(pk=pk_of(body["id"]))
    assert (account.code, account.debits_must_not_exceed_credits) == ("funding", False)


def test_reference_and_metadata_default_to_empty(merchant_client):
    body = open_account(merchant_client)

    assert (body["reference"], body["metadata"], body["allow_overdraft"]) == ("", {}, False)


def test_metadata_of_50_keys_is_accepted(merchant_client):
    metadata = {f"k{n}": n for n in range(50)}

    assert open_account(merchant_client, metadata=metadata)["metadata"] == metadata


@pytest.mark.parametrize(
    ("body", "field", "code", "detail"),
    [
        ({}, "currency", "required", "This field is required."),
        ({"currency": "XYZ"}, "currency", "invalid", "'XYZ' is not an ISO 4217 currency code."),
        ({"currency": "bhd"}, "currency", "invalid", "'bhd' is not an ISO 4217 currency code."),
        ({"currency": "BHDX"}, "currency", "max_length", "Ensure this field has no more than 3 characters."),
        # An ISO currency, but not one the merchant is set up for.
        ({"currency": "USD"}, "currency", "invalid", "Your account is set up for BHD; ask us to add USD."),
        ({"currency": "BHD", "metadata": ["gold"]}, "metadata", "invalid", "Send an object of keys and values."),
        ({"currency": "BHD", "metadata": "gold"}, "metadata", "invalid", "Send an object of keys and values."),
        ({"currency": "BHD", "metadata": {f"k{n}": n for n in range(51)}}, "metadata", "invalid",
         "At most 50 keys."),
        ({"currency": "BHD", "metadata": None}, "metadata", "null", "This field may not be null."),
        ({"currency": "BHD", "allow_overdraft": "sometimes"}, "allow_overdraft", "invalid",
         "Must be a valid boolean."),
        ({"currency": "BHD", "reference": "r" * 256}, "reference", "max_length",
         "Ensure this field has no more than 255 characters."),
    ],
)
def test_invalid_accounts_are_refused_and_nothing_is_written(merchant_client, body, field, code, detail):
    before = ledger_snapshot()

    response = merchant_client.post(ACCOUNTS, body, format="json")

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{"field": field, "code": code, "detail": detail}]
    assert ledger_snapshot() == before


def test_an_account_in_each_of_the_merchants_currencies(merchant_client, other):
    _other_merchant, other_client = other

    usd = open_account(other_client, currency="USD")

    assert usd["currency"] == "USD"
    assert usd["balance"] == money(0, 0, 0, "USD")


def test_opening_is_idempotent_with_a_key(merchant_client):
    first = merchant_client.post(ACCOUNTS, {"currency": "BHD"}, format="json", HTTP_IDEMPOTENCY_KEY="open-1")
    again = merchant_client.post(ACCOUNTS, {"currency": "BHD"}, format="json", HTTP_IDEMPOTENCY_KEY="open-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Account.objects.filter(owner_type="customer").count() == 1
    assert AuditEvent.objects.filter(action="ledger.account_opened").count() == 1


# --- reading -----------------------------------------------------------------------------------


def test_an_account_is_shown_with_its_balance_now(merchant_client):
    with time_machine.travel(T0, tick=False):
        wallet = open_account(merchant_client, reference="cust-7", metadata={"kyc": "full"})
        source = open_account(merchant_client, allow_overdraft=True)
        transfer(merchant_client, source["id"], wallet["id"], 12500)
        transfer(merchant_client, wallet["id"], source["id"], 2000, pending=True)

    response = merchant_client.get(f"{ACCOUNTS}/{wallet['id']}")

    assert response.status_code == 200
    assert response.json() == {
        "id": wallet["id"],
        "currency": "BHD",
        "livemode": False,
        "reference": "cust-7",
        "metadata": {"kyc": "full"},
        "allow_overdraft": False,
        "frozen": False,
        "closed": False,
        "balance": money(12500, -2000, 10500),
        "created": timezone.localtime(T0).isoformat(),
    }
    assert merchant_client.get(f"{ACCOUNTS}/{source['id']}").json()["balance"] == money(-12500, 2000, -12500)


def test_a_frozen_or_closed_account_says_so(merchant_client):
    wallet = open_account(merchant_client)
    Account.objects.filter(pk=pk_of(wallet["id"])).update(frozen=True, closed=True)

    body = merchant_client.get(f"{ACCOUNTS}/{wallet['id']}").json()

    assert (body["frozen"], body["closed"]) == (True, True)


@pytest.mark.parametrize("suffix", ["", "/balance", "/statement"])
def test_another_merchants_account_is_not_found(merchant_client, theirs, suffix):
    response = merchant_client.get(f"{ACCOUNTS}/{theirs['id']}{suffix}")

    assert_problem(response, status=404, code="not_found", detail=f"No account {theirs['id']!r}.")


@pytest.mark.parametrize("livemode", [False, True])
@pytest.mark.parametrize("suffix", ["", "/balance", "/statement"])
def test_the_merchants_own_settlement_accounts_are_not_customer_accounts(merchant, merchant_client, suffix,
                                                                         livemode):
    # merchant_create opened them, in both modes; they belong to fincore's books, not to the
    # merchant's API, even in the key's own mode.
    settlement = Account.objects.get(merchant_id=merchant.pk, code="merchant_available", currency="BHD",
                                     livemode=livemode)

    response = merchant_client.get(f"{ACCOUNTS}/{acc(settlement.pk)}{suffix}")

    assert_problem(response, status=404, code="not_found")


@pytest.mark.parametrize(
    "malformed",
    ["acc_123", "acc_" + "U" * 26, "acc_" + "Z" * 26 + "Z", "nothing", "acc_", "ACC_01M8FVRFV3FVQ9CB19JZD1739Q"],
)
def test_a_malformed_account_id_is_not_found(merchant_client, malformed):
    assert_problem(merchant_client.get(f"{ACCOUNTS}/{malformed}"), status=404, code="not_found")


def test_an_id_of_another_kind_is_not_an_account_id(merchant, merchant_client):
    wallet = open_account(merchant_client)
    same_uuid_as_transfer = "tr_" + wallet["id"].removeprefix("acc_")

    assert_problem(merchant_client.get(f"{ACCOUNTS}/{same_uuid_as_transfer}"), status=404, code="not_found")
    assert_problem(merchant_client.get(f"{ACCOUNTS}/{ids.encode('mer', merchant.pk)}"), status=404,
                   code="not_found")


def test_accounts_need_a_key(api_client):
    assert_problem(api_client.get(ACCOUNTS), status=401, code="not_authenticated")
    assert_problem(api_client.post(ACCOUNTS, {"currency": "BHD"}, format="json"), status=401,
                   code="not_authenticated")


# --- listing -------------------------------------------------------------------------------------


def test_the_list_shows_the_callers_customer_accounts_newest_first(merchant_client, theirs):
    opened = [open_account(merchant_client, reference=f"cust-{n}") for n in range(3)]

    response = merchant_client.get(ACCOUNTS)

    assert response.status_code == 200
    body = response.json()
    assert body["results"] == list(reversed(opened))
    assert (body["next"], body["previous"]) == (None, None)


def test_the_list_filters_by_reference_and_currency(merchant_client, other):
    _other_merchant, other_client = other
    alice_bhd = open_account(other_client, reference="alice")
    open_account(other_client, reference="bob")
    alice_usd = open_account(other_client, reference="alice", currency="USD")
    open_account(other_client, reference="alice-2")
    open_account(merchant_client, reference="alice")  # another merchant's customer of the same name

    def listed(**query: str) -> list[str]:
        response = other_client.get(ACCOUNTS, query)
        assert response.status_code == 200, response.content
        return [account["id"] for account in response.json()["results"]]

    assert listed(reference="alice") == [alice_usd["id"], alice_bhd["id"]]
    assert listed(currency="USD") == [alice_usd["id"]]
    assert listed(reference="alice", currency="BHD") == [alice_bhd["id"]]
    assert listed(reference="nobody") == []
    assert len(listed()) == 4


def test_a_malformed_list_filter_is_a_validation_error(merchant_client):
    problem = assert_problem(merchant_client.get(ACCOUNTS, {"currency": "DINAR"}), status=400,
                             code="validation_error")

    assert problem["errors"] == [
        {"field": "currency", "code": "max_length", "detail": "Ensure this field has no more than 3 characters."}
    ]


def test_the_list_is_paginated_by_cursor(merchant_client):
    opened = [open_account(merchant_client, reference=f"cust-{n}") for n in range(5)]
    newest_first = [account["id"] for account in reversed(opened)]

    first = merchant_client.get(ACCOUNTS, {"limit": 2}).json()
    second = merchant_client.get(first["next"]).json()
    third = merchant_client.get(second["next"]).json()
    back = merchant_client.get(second["previous"]).json()

    assert [a["id"] for a in first["results"]] == newest_first[:2]
    assert [a["id"] for a in second["results"]] == newest_first[2:4]
    assert [a["id"] for a in third["results"]] == newest_first[4:]
    assert third["next"] is None
    assert first["previous"] is None
    assert [a["id"] for a in back["results"]] == newest_first[:2]


def _list_queries(client, **query) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ACCOUNTS, query)
        assert response.status_code == 200
    return len(queries)


def test_listing_costs_the_same_queries_for_2_or_60_accounts(merchant, merchant_client,
                                                             django_assert_max_num_queries):
    source = account_opened(merchant.pk, allow_overdraft=True)
    account_opened(merchant.pk)
    few = _list_queries(merchant_client)
    for number in range(58):
        account_opened(merchant.pk, reference=f"cust-{number}")

    with django_assert_max_num_queries(few):
        page = merchant_client.get(ACCOUNTS, {"limit": 100})

    listed = [account["id"] for account in page.json()["results"]]
    assert len(listed) == 60
    assert acc(source.pk) in listed  # a funding account is a customer account too
    assert few <= 6
    assert _list_queries(merchant_client, limit=100, reference="cust-1") <= few


# --- balances and overdraft ---------------------------------------------------------------------


def test_a_wallet_never_goes_negative(merchant_client):
    source = open_account(merchant_client, allow_overdraft=True)
    wallet = open_account(merchant_client)
    shop = open_account(merchant_client)
    transfer(merchant_client, source["id"], wallet["id"], 1000)
    before = ledger_snapshot()

    response = post_transfer(merchant_client, wallet["id"], shop["id"], 1001)

    problem = assert_problem(response, status=422, code="insufficient_funds")
    assert problem["detail"] == "The account's available balance is too low"
    assert ledger_snapshot() == before
    assert balance(merchant_client, wallet["id"]) == money(1000, 0, 1000)
    # All of it may go.
    transfer(merchant_client, wallet["id"], shop["id"], 1000)
    assert balance(merchant_client, wallet["id"]) == money(0, 0, 0)


def test_a_hold_counts_against_a_wallets_available_balance(merchant_client):
    source = open_account(merchant_client, allow_overdraft=True)
    wallet = open_account(merchant_client)
    shop = open_account(merchant_client)
    transfer(merchant_client, source["id"], wallet["id"], 1000)
    transfer(merchant_client, wallet["id"], shop["id"], 600, pending=True)
    before = ledger_snapshot()

    immediate = post_transfer(merchant_client, wallet["id"], shop["id"], 401)
    another_hold = post_transfer(merchant_client, wallet["id"], shop["id"], 401, pending=True)

    assert_problem(immediate, status=422, code="insufficient_funds")
    assert_problem(another_hold, status=422, code="insufficient_funds")
    assert ledger_snapshot() == before
    assert balance(merchant_client, wallet["id"]) == money(1000, -600, 400)
    transfer(merchant_client, wallet["id"], shop["id"], 400)
    assert balance(merchant_client, wallet["id"]) == money(600, -600, 0)


def test_a_funding_account_may_go_negative(merchant_client):
    source = open_account(merchant_client, allow_overdraft=True)
    wallet = open_account(merchant_client)

    transfer(merchant_client, source["id"], wallet["id"], 5000)
    transfer(merchant_client, source["id"], wallet["id"], 250, pending=True)

    assert balance(merchant_client, source["id"]) == money(-5000, -250, -5250)
    assert balance(merchant_client, wallet["id"]) == money(5000, 250, 5000)


def test_a_malformed_as_of_is_a_validation_error(merchant_client):
    wallet = open_account(merchant_client)

    response = merchant_client.get(f"{ACCOUNTS}/{wallet['id']}/balance", {"as_of": "yesterday"})

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{
        "field": "as_of", "code": "invalid",
        "detail": "Datetime has wrong format. Use one of these formats instead: "
                  "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
    }]


def test_a_statement_period_must_run_forwards(merchant_client):
    wallet = open_account(merchant_client)

    response = merchant_client.get(f"{ACCOUNTS}/{wallet['id']}/statement",
                                   {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"})

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{"field": "to", "code": "invalid", "detail": "Must be after from."}]


def test_a_new_accounts_statement_is_empty(merchant_client):
    wallet = open_account(merchant_client)

    response = merchant_client.get(f"{ACCOUNTS}/{wallet['id']}/statement")

    assert response.status_code == 200
    assert response.json() == {"results": [], "next": None, "previous": None}


def test_a_statement_page_costs_the_same_queries_for_2_or_60_entries(merchant, merchant_client,
                                                                     django_assert_max_num_queries):
    source, wallet = account_opened(merchant.pk, allow_overdraft=True), account_opened(merchant.pk)
    statement = f"{ACCOUNTS}/{acc(wallet.pk)}/statement"
    for amount in (1, 2):
        transfer_posted(merchant.pk, source, wallet, amount)
    with CaptureQueriesContext(connection) as few:
        assert merchant_client.get(statement).status_code == 200
    for amount in range(3, 61):
        transfer_posted(merchant.pk, source, wallet, amount)

    with django_assert_max_num_queries(len(few)):
        page = merchant_client.get(statement, {"limit": 100})

    lines = page.json()["results"]
    assert [line["amount"] for line in lines] == list(range(1, 61))
    assert lines[-1]["balance"] == money(1830, 0, 1830)


# --- test and live keys ---------------------------------------------------------------------------


def test_a_live_key_opens_a_live_account(merchant, live_client):
    body = open_account(live_client, reference="cust-1")

    assert body["livemode"] is True
    account = Account.objects.get(pk=pk_of(body["id"]))
    assert (account.livemode, account.merchant_id) == (True, merchant.pk)
    assert AuditEvent.objects.get(object_id=str(account.pk)).after == {
        "currency": "BHD", "livemode": True, "code": "wallet", "reference": "cust-1"}


@pytest.mark.parametrize("suffix", ["", "/balance", "/statement"])
def test_a_key_never_sees_an_account_of_the_other_mode(merchant_client, live_client, suffix):
    test_wallet = open_account(merchant_client)
    live_wallet = open_account(live_client)

    for client, theirs in ((merchant_client, live_wallet), (live_client, test_wallet)):
        assert_problem(client.get(f"{ACCOUNTS}/{theirs['id']}{suffix}"), status=404, code="not_found",
                       detail=f"No account {theirs['id']!r}.")
    for client, own in ((merchant_client, test_wallet), (live_client, live_wallet)):
        assert client.get(f"{ACCOUNTS}/{own['id']}{suffix}").status_code == 200


def test_each_key_lists_the_accounts_of_its_mode(merchant_client, live_client):
    test_alice = open_account(merchant_client, reference="alice")
    test_bob = open_account(merchant_client, reference="bob")
    live_alice = open_account(live_client, reference="alice")

    def listed(client, **query: str) -> list[str]:
        response = client.get(ACCOUNTS, query)
        assert response.status_code == 200, response.content
        return [account["id"] for account in response.json()["results"]]

    assert listed(merchant_client) == [test_bob["id"], test_alice["id"]]
    assert listed(live_client) == [live_alice["id"]]
    assert listed(merchant_client, reference="alice") == [test_alice["id"]]
    assert listed(live_client, reference="alice") == [live_alice["id"]]
    assert listed(live_client, reference="bob") == []


def test_the_same_idempotency_key_opens_one_account_in_each_mode(merchant_client, live_client):
    test_first = merchant_client.post(ACCOUNTS, {"currency": "BHD"}, format="json", HTTP_IDEMPOTENCY_KEY="open-1")
    live_first = live_client.post(ACCOUNTS, {"currency": "BHD"}, format="json", HTTP_IDEMPOTENCY_KEY="open-1")
    test_again = merchant_client.post(ACCOUNTS, {"currency": "BHD"}, format="json", HTTP_IDEMPOTENCY_KEY="open-1")

    assert (test_first.status_code, live_first.status_code, test_again.status_code) == (201, 201, 201)
    assert "Idempotent-Replayed" not in live_first
    assert test_again["Idempotent-Replayed"] == "true"
    assert test_again.json() == test_first.json()
    assert (test_first.json()["livemode"], live_first.json()["livemode"]) == (False, True)
    assert live_first.json()["id"] != test_first.json()["id"]
    assert sorted(Account.objects.filter(owner_type="customer").values_list("livemode", flat=True)) == [False, True]


def test_a_transfer_across_modes_is_refused_through_the_api(merchant, merchant_client, live_client):
    test_funding = open_account(merchant_client, allow_overdraft=True)
    test_wallet = open_account(merchant_client)
    # A live key opens no funding account: fincore's own services do.
    live_funding = {"id": acc(account_opened(merchant.pk, allow_overdraft=True, livemode=True).pk)}
    live_wallet = open_account(live_client)
    before = ledger_snapshot()

    for client, debit, credit, code in (
        (merchant_client, live_funding, test_wallet, "debit_account_not_found"),
        (merchant_client, test_funding, live_wallet, "credit_account_not_found"),
        (live_client, test_funding, live_wallet, "debit_account_not_found"),
        (live_client, live_funding, test_wallet, "credit_account_not_found"),
    ):
        assert_problem(post_transfer(client, debit["id"], credit["id"], 100), status=422, code=code)
    assert ledger_snapshot() == before

    # Each key moves its own mode's money.
    assert transfer(merchant_client, test_funding["id"], test_wallet["id"], 100)["livemode"] is False
    assert transfer(live_client, live_funding["id"], live_wallet["id"], 100)["livemode"] is True
    assert balance(merchant_client, test_wallet["id"]) == money(100, 0, 100)
    assert balance(live_client, live_wallet["id"]) == money(100, 0, 100)
