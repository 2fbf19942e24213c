"""Transfers through the API: the worked BHD example (fund, hold, partial post, void, reverse)
with every balance, status and statement line; each refusal the API can give; idempotency;
lists and their filters; and the OpenAPI description of the ledger's endpoints."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.validation import validate_schema

from apps.core import ids
from apps.core.actors import Actor
from apps.core.models import IdempotencyRecord
from apps.ledger import services
from apps.ledger.data import Result
from apps.ledger.models import Account, Transfer
from apps.merchants.models import ApiKey, Merchant
from tests.core.api.assertions import assert_problem
from tests.factories import ledger as ledger_factories
from tests.factories.merchants import api_key_issue, authenticated_client, merchant_with_key
from tests.ledger.api_helpers import (
    ACCOUNTS,
    TRANSFERS,
    acc,
    account_opened,
    act,
    balance,
    get_transfer,
    ledger_snapshot,
    money,
    open_account,
    pk_of,
    post_transfer,
    tr,
    transfer,
    transfer_body,
    transfer_posted,
)

pytestmark = pytest.mark.django_db

# 10:00 in Manama; the example's steps follow five minutes apart.
T1 = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)
T2, T3, T4, T5, T6, T7 = (T1 + STEP * n for n in range(1, 7))
ACTOR = Actor.system("tests.ledger")
# Well-formed ids of accounts nobody opened.
SOME_ACCOUNT, OTHER_ACCOUNT = "acc_" + "0" * 25 + "1", "acc_" + "0" * 25 + "2"


def _local(instant: datetime) -> str:
    """How the API renders an instant: in Asia/Bahrain (UTC+3)."""
    return (instant + timedelta(hours=3)).replace(tzinfo=None).isoformat() + "+03:00"


def _transfer(**fields: Any) -> dict[str, Any]:
    """A transfer's body with the defaults of an immediate transfer made with a test key."""
    return {
        "livemode": False, "kind": "immediate", "status": "posted", "currency": "BHD", "pending_transfer": None,
        "resolved_by": None, "reverses": None, "reversed_by": None, "expires_at": None, "code": "transfer",
        "reference": "", "metadata": {}, **fields,
    }


# The example happens on a fixed day in the past, so every row a test reads is made on that day
# (inside a travel) or at the present, after it: the merchants, their keys and accounts too.
SET_UP = T1 - timedelta(days=1)


@pytest.fixture
def merchant_and_secret(db) -> tuple[Merchant, str]:
    with time_machine.travel(SET_UP, tick=False):
        return merchant_with_key()


@pytest.fixture
def accounts(merchant_client) -> dict[str, str]:
    """The merchant's funding account (may go negative), a customer's wallet and a shop's wallet."""
    with time_machine.travel(SET_UP, tick=False):
        return {
            "funding": open_account(merchant_client, allow_overdraft=True, reference="treasury")["id"],
            "wallet": open_account(merchant_client, reference="customer-alice")["id"],
            "shop": open_account(merchant_client, reference="shop-bakery")["id"],
        }


@pytest.fixture
def other():
    """Merchant B, a client with its key, and one of its wallets holding 5.000 BHD."""
    with time_machine.travel(SET_UP, tick=False):
        _other_merchant, other_secret = merchant_with_key(legal_name="Other Shop B.S.C.")
        other_client = authenticated_client(other_secret)
        their_funding = open_account(other_client, allow_overdraft=True)["id"]
        their_wallet = open_account(other_client)["id"]
        their_transfer = transfer(other_client, their_funding, their_wallet, 5000)
    return {"client": other_client, "wallet": their_wallet, "funding": their_funding, "transfer": their_transfer}


def _balances(client, accounts: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: balance(client, account_id) for name, account_id in accounts.items()}


def _worked_example(client, accounts: dict[str, str]) -> dict[str, str]:
    """The README's example, step by step, checking every balance and status on the way, each step
    and its checks at the step's instant. Returns the transfers' ids by name."""
    with time_machine.travel(T1, tick=False) as example_day:
        return _worked_example_steps(client, accounts, example_day.move_to)


def _worked_example_steps(client, accounts: dict[str, str], move_to) -> dict[str, str]:
    funding, wallet, shop = accounts["funding"], accounts["wallet"], accounts["shop"]
    made: dict[str, str] = {}

    # 1. The customer tops up 12.500 BHD.
    move_to(T1)
    response = post_transfer(client, funding, wallet, 12500, client_id="topup-1", reference="top-up",
                             metadata={"channel": "benefit-pay"})
    assert response.status_code == 201, response.content
    made["topup"] = response.json()["id"]
    assert response["Location"] == f"/api/v1/transfers/{made['topup']}"
    assert response.json() == _transfer(
        id=made["topup"], client_id="topup-1", debit_account=funding, credit_account=wallet, amount=12500,
        reference="top-up", metadata={"channel": "benefit-pay"}, created=_local(T1),
    )
    assert _balances(client, accounts) == {
        "funding": money(-12500, 0, -12500), "wallet": money(12500, 0, 12500), "shop": money(0, 0, 0),
    }

    # 2. The shop holds 5.000 of it for an order, for an hour at most.
    move_to(T2)
    hold = transfer(client, wallet, shop, 5000, pending=True, timeout=3600, client_id="order-1-hold",
                    reference="order 1")
    made["hold"] = hold["id"]
    assert hold == _transfer(
        id=made["hold"], client_id="order-1-hold", kind="pending", status="pending", debit_account=wallet,
        credit_account=shop, amount=5000, expires_at=_local(T2 + timedelta(hours=1)), reference="order 1",
        created=_local(T2),
    )
    assert _balances(client, accounts) == {
        "funding": money(-12500, 0, -12500), "wallet": money(12500, -5000, 7500), "shop": money(0, 5000, 0),
    }

    # 3. It ships part of the order: 3.000 is posted, the rest of the hold released. Sent without
    #    code or reference, the capture takes the hold's.
    move_to(T3)
    response = act(client, made["hold"], "post", {"amount": 3000}, HTTP_IDEMPOTENCY_KEY="order-1-capture")
    assert response.status_code == 201, response.content
    made["capture"] = response.json()["id"]
    assert response["Location"] == f"/api/v1/transfers/{made['capture']}"
    assert response.json() == _transfer(
        id=made["capture"], client_id="order-1-capture", kind="post_pending", status="posted", debit_account=wallet,
        credit_account=shop, amount=3000, pending_transfer=made["hold"], reference="order 1", created=_local(T3),
    )
    assert get_transfer(client, made["hold"]) == {**hold, "status": "posted", "resolved_by": made["capture"]}
    assert _balances(client, accounts) == {
        "funding": money(-12500, 0, -12500), "wallet": money(9500, 0, 9500), "shop": money(3000, 0, 3000),
    }

    # 4. A second order is held ...
    move_to(T4)
    second_hold = transfer(client, wallet, shop, 2000, pending=True, client_id="order-2-hold",
                           reference="order 2")
    made["second_hold"] = second_hold["id"]
    assert (second_hold["status"], second_hold["expires_at"]) == ("pending", None)
    assert _balances(client, accounts) == {
        "funding": money(-12500, 0, -12500), "wallet": money(9500, -2000, 7500), "shop": money(3000, 2000, 3000),
    }

    # 5. ... and canceled: the hold is voided, nothing moves.
    move_to(T5)
    response = act(client, made["second_hold"], "void")
    assert response.status_code == 201, response.content
    made["void"] = response.json()["id"]
    assert response.json() == _transfer(
        id=made["void"], client_id=response.json()["client_id"], kind="void_pending", status="voided",
        debit_account=wallet, credit_account=shop, amount=2000, pending_transfer=made["second_hold"],
        reference="order 2", created=_local(T5),
    )
    assert get_transfer(client, made["second_hold"]) == {**second_hold, "status": "voided",
                                                           "resolved_by": made["void"]}
    assert _balances(client, accounts) == {
        "funding": money(-12500, 0, -12500), "wallet": money(9500, 0, 9500), "shop": money(3000, 0, 3000),
    }

    # 6. The customer pays 1.500 at once ...
    move_to(T6)
    purchase = transfer(client, wallet, shop, 1500, client_id="order-3", reference="order 3")
    made["purchase"] = purchase["id"]
    assert _balances(client, accounts) == {
        "funding": money(-12500, 0, -12500), "wallet": money(8000, 0, 8000), "shop": money(4500, 0, 4500),
    }

    # 7. ... and the shop refunds it by reversal: a new transfer back, the original untouched; its
    #    reference is the purchase's.
    move_to(T7)
    response = act(client, made["purchase"], "reverse", HTTP_IDEMPOTENCY_KEY="order-3-refund")
    assert response.status_code == 201, response.content
    made["reversal"] = response.json()["id"]
    assert response.json() == _transfer(
        id=made["reversal"], client_id="order-3-refund", debit_account=shop, credit_account=wallet, amount=1500,
        reverses=made["purchase"], code="reversal", reference="order 3", created=_local(T7),
    )
    assert get_transfer(client, made["purchase"]) == {**purchase, "reversed_by": made["reversal"]}
    assert _balances(client, accounts) == {
        "funding": money(-12500, 0, -12500), "wallet": money(9500, 0, 9500), "shop": money(3000, 0, 3000),
    }
    return made


def test_the_worked_example(merchant_client, accounts):
    made = _worked_example(merchant_client, accounts)

    statuses = {name: get_transfer(merchant_client, transfer_id)["status"] for name, transfer_id in made.items()}
    assert statuses == {
        "topup": "posted", "hold": "posted", "capture": "posted", "second_hold": "voided", "void": "voided",
        "purchase": "posted", "reversal": "posted",
    }
    # What the ledger's own check proves: each currency balances, each balance equals its entries.
    assert services.ledger_check(actor=ACTOR).ok
    assert Transfer.objects.count() == 7


def test_the_wallets_statement_has_a_running_balance(merchant_client, accounts):
    made = _worked_example(merchant_client, accounts)

    response = merchant_client.get(f"{ACCOUNTS}/{accounts['wallet']}/statement")

    assert response.status_code == 200
    body = response.json()
    assert (body["next"], body["previous"]) == (None, None)
    assert body["results"] == [
        {"transfer": made["topup"], "posted_at": _local(T1), "kind": "immediate", "side": "credit",
         "amount": 12500, "pending_amount": 0, "balance": money(12500, 0, 12500), "reference": "top-up"},
        {"transfer": made["hold"], "posted_at": _local(T2), "kind": "pending", "side": "debit",
         "amount": 0, "pending_amount": -5000, "balance": money(12500, -5000, 7500), "reference": "order 1"},
        {"transfer": made["capture"], "posted_at": _local(T3), "kind": "post_pending", "side": "debit",
         "amount": -3000, "pending_amount": 5000, "balance": money(9500, 0, 9500), "reference": "order 1"},
        {"transfer": made["second_hold"], "posted_at": _local(T4), "kind": "pending", "side": "debit",
         "amount": 0, "pending_amount": -2000, "balance": money(9500, -2000, 7500), "reference": "order 2"},
        {"transfer": made["void"], "posted_at": _local(T5), "kind": "void_pending", "side": "debit",
         "amount": 0, "pending_amount": 2000, "balance": money(9500, 0, 9500), "reference": "order 2"},
        {"transfer": made["purchase"], "posted_at": _local(T6), "kind": "immediate", "side": "debit",
         "amount": -1500, "pending_amount": 0, "balance": money(8000, 0, 8000), "reference": "order 3"},
        {"transfer": made["reversal"], "posted_at": _local(T7), "kind": "immediate", "side": "credit",
         "amount": 1500, "pending_amount": 0, "balance": money(9500, 0, 9500), "reference": "order 3"},
    ]


def test_the_shops_statement_reads_from_its_side(merchant_client, accounts):
    made = _worked_example(merchant_client, accounts)

    lines = merchant_client.get(f"{ACCOUNTS}/{accounts['shop']}/statement").json()["results"]

    assert [(line["transfer"], line["side"], line["amount"], line["pending_amount"], line["balance"])
            for line in lines] == [
        (made["hold"], "credit", 0, 5000, money(0, 5000, 0)),
        (made["capture"], "credit", 3000, -5000, money(3000, 0, 3000)),
        (made["second_hold"], "credit", 0, 2000, money(3000, 2000, 3000)),
        (made["void"], "credit", 0, -2000, money(3000, 0, 3000)),
        (made["purchase"], "credit", 1500, 0, money(4500, 0, 4500)),
        (made["reversal"], "debit", -1500, 0, money(3000, 0, 3000)),
    ]


def test_a_statement_period_and_its_pages(merchant_client, accounts):
    made = _worked_example(merchant_client, accounts)
    statement = f"{ACCOUNTS}/{accounts['wallet']}/statement"

    period = merchant_client.get(statement, {"from": T3.isoformat(), "to": T6.isoformat()}).json()
    first = merchant_client.get(statement, {"limit": 3}).json()
    second = merchant_client.get(first["next"]).json()
    third = merchant_client.get(second["next"]).json()

    assert [line["transfer"] for line in period["results"]] == [made["capture"], made["second_hold"], made["void"]]
    in_order = [made[name] for name in ("topup", "hold", "capture", "second_hold", "void", "purchase", "reversal")]
    assert [line["transfer"] for line in first["results"]] == in_order[:3]
    assert [line["transfer"] for line in second["results"]] == in_order[3:6]
    assert [line["transfer"] for line in third["results"]] == in_order[6:]
    assert third["next"] is None
    assert [line["transfer"] for line in merchant_client.get(second["previous"]).json()["results"]] == in_order[:3]


def test_balances_as_of_instants_between_the_steps(merchant_client, accounts):
    _worked_example(merchant_client, accounts)
    expected = [
        (T1 - timedelta(seconds=1), money(0, 0, 0), money(0, 0, 0)),
        (T1, money(12500, 0, 12500), money(0, 0, 0)),  # at the instant of a posting: it counts
        (T2 + timedelta(minutes=1), money(12500, -5000, 7500), money(0, 5000, 0)),
        (T3 + timedelta(minutes=1), money(9500, 0, 9500), money(3000, 0, 3000)),
        (T4 + timedelta(minutes=1), money(9500, -2000, 7500), money(3000, 2000, 3000)),
        (T5 + timedelta(minutes=1), money(9500, 0, 9500), money(3000, 0, 3000)),
        (T6 + timedelta(minutes=1), money(8000, 0, 8000), money(4500, 0, 4500)),
        (T7 + timedelta(days=365), money(9500, 0, 9500), money(3000, 0, 3000)),
    ]

    seen = [
        (as_of, balance(merchant_client, accounts["wallet"], as_of=as_of.isoformat()),
         balance(merchant_client, accounts["shop"], as_of=as_of.isoformat()))
        for as_of, _wallet, _shop in expected
    ]

    assert seen == expected
    assert balance(merchant_client, accounts["funding"], as_of=T2.isoformat()) == money(-12500, 0, -12500)


def test_as_of_is_read_in_any_offset(merchant_client, accounts):
    _worked_example(merchant_client, accounts)
    # 10:07 in Manama is between the hold (10:05) and the capture (10:10).
    held = money(12500, -5000, 7500)

    assert balance(merchant_client, accounts["wallet"], as_of="2026-03-01T10:07:00+03:00") == held
    assert balance(merchant_client, accounts["wallet"], as_of="2026-03-01T07:07:00Z") == held
    assert balance(merchant_client, accounts["wallet"], as_of="2026-03-01T10:07:00") == held  # local time


# --- the transfer's fields ------------------------------------------------------------------


def test_a_transfer_without_a_client_id_or_key_gets_one(merchant_client, accounts):
    body = transfer(merchant_client, accounts["funding"], accounts["wallet"], 100)

    stored = Transfer.objects.get(pk=pk_of(body["id"]))
    assert body["client_id"] == stored.client_id
    assert len(body["client_id"]) == 36  # a UUID
    assert stored.created_by.startswith("fc_test_")
    assert stored.merchant_id is not None


@pytest.mark.parametrize(
    ("fields", "field", "code", "detail"),
    [
        ({"amount": 12.0}, "amount", "invalid", "Send an integer number of minor units, e.g. 12500 for 12.500 BHD."),
        ({"amount": 12.5}, "amount", "invalid", "Send an integer number of minor units, e.g. 12500 for 12.500 BHD."),
        ({"amount": "12"}, "amount", "invalid", "Send an integer number of minor units, e.g. 12500 for 12.500 BHD."),
        ({"amount": True}, "amount", "invalid", "Send an integer number of minor units, e.g. 12500 for 12.500 BHD."),
        ({"amount": None}, "amount", "null", "This field may not be null."),
        ({"amount": 0}, "amount", "min_value", "Must be at least 1 minor unit."),
        ({"amount": -500}, "amount", "min_value", "Must be at least 1 minor unit."),
        ({"amount": 10**15}, "amount", "max_value", "At most 999999999999999 minor units (15 digits)."),
        ({"amount": 2**63}, "amount", "max_value", "At most 999999999999999 minor units (15 digits)."),
        ({"timeout": 60}, "timeout", "invalid", "Only a pending transfer takes a timeout."),
        ({"pending": True, "timeout": 0}, "timeout", "min_value", "Ensure this value is greater than or equal to 1."),
        ({"pending": True, "timeout": 30 * 24 * 3600 + 1}, "timeout", "max_value",
         "Ensure this value is less than or equal to 2592000."),
        ({"pending": True, "timeout": 1.5}, "timeout", "invalid", "A valid integer is required."),
        ({"currency": "BH"}, "currency", "min_length", "Ensure this field has at least 3 characters."),
        ({"currency": "XYZ"}, "currency", "invalid", "'XYZ' is not an ISO 4217 currency code."),
        ({"currency": "bhd"}, "currency", "invalid", "'bhd' is not an ISO 4217 currency code."),
        ({"debit_account": "acc_nope"}, "debit_account", "invalid", "Not a valid acc id."),
        ({"credit_account": 42}, "credit_account", "invalid", "Not a valid acc id."),
        ({"client_id": ""}, "client_id", "blank", "This field may not be blank."),
        ({"client_id": "c" * 256}, "client_id", "max_length", "Ensure this field has no more than 255 characters."),
        ({"metadata": [1, 2]}, "metadata", "invalid", "Send an object of keys and values."),
        ({"metadata": {f"k{n}": n for n in range(51)}}, "metadata", "invalid", "At most 50 keys."),
    ],
)
def test_invalid_transfers_are_refused_and_nothing_is_written(merchant_client, fields, field, code, detail):
    body = {**transfer_body(SOME_ACCOUNT, OTHER_ACCOUNT, 1250), **fields}
    before = ledger_snapshot()

    response = merchant_client.post(TRANSFERS, body, format="json")

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{"field": field, "code": code, "detail": detail}]
    assert ledger_snapshot() == before


def test_a_transfer_missing_its_fields_names_each(merchant_client):
    problem = assert_problem(merchant_client.post(TRANSFERS, {}, format="json"), status=400,
                             code="validation_error")

    assert {(error["field"], error["code"]) for error in problem["errors"]} == {
        ("debit_account", "required"), ("credit_account", "required"), ("amount", "required"),
        ("currency", "required"),
    }


def test_a_float_in_the_raw_json_is_refused(merchant_client, accounts):
    raw = (f'{{"debit_account": "{accounts["funding"]}", "credit_account": "{accounts["wallet"]}", '
           '"amount": 12500.0, "currency": "BHD"}')
    before = ledger_snapshot()

    response = merchant_client.post(TRANSFERS, raw, content_type="application/json")

    problem = assert_problem(response, status=400, code="validation_error")
    assert [error["field"] for error in problem["errors"]] == ["amount"]
    assert ledger_snapshot() == before


# --- refusals ----------------------------------------------------------------------------------


def _refused(response, code: str, before) -> dict[str, Any]:
    """A 422 refusal whose type is documented in the catalogue, and nothing written."""
    problem = assert_problem(response, status=422, code=code)
    assert ledger_snapshot() == before
    return problem


@pytest.fixture
def funded(merchant_client, accounts) -> dict[str, str]:
    """The accounts, with 10.000 BHD in the wallet (since before T1: an account's entries never go
    back in time, so a test travelling to T1 must not find a later one)."""
    with time_machine.travel(T1 - timedelta(hours=1), tick=False):
        transfer(merchant_client, accounts["funding"], accounts["wallet"], 10000)
    return accounts


def test_insufficient_funds(merchant_client, funded):
    before = ledger_snapshot()

    response = post_transfer(merchant_client, funded["wallet"], funded["shop"], 10001)

    problem = _refused(response, "insufficient_funds", before)
    assert problem["title"] == "The account's available balance is too low"
    # The type points at the catalogue, which explains the code.
    catalogue = merchant_client.get(problem["type"])
    assert catalogue.status_code == 200
    assert catalogue.json()["status"] == 422


def test_same_account(merchant_client, funded):
    before = ledger_snapshot()

    _refused(post_transfer(merchant_client, funded["wallet"], funded["wallet"], 100), "same_account", before)


def test_currency_mismatch(api_client):
    _merchant, secret = merchant_with_key(currencies=["BHD", "USD"])
    client = authenticated_client(secret)
    bhd_funding = open_account(client, allow_overdraft=True)["id"]
    bhd_wallet = open_account(client)["id"]
    usd_wallet = open_account(client, currency="USD")["id"]
    before = ledger_snapshot()

    across = post_transfer(client, bhd_funding, usd_wallet, 100)
    labelled_wrong = post_transfer(client, bhd_funding, bhd_wallet, 100, currency="USD")

    _refused(across, "currency_mismatch", before)
    _refused(labelled_wrong, "currency_mismatch", before)


def test_another_merchants_accounts_are_not_found(merchant, merchant_client, funded, other):
    # The settlement account of the key's own mode (test): still fincore's, not the merchant's.
    settlement = Account.objects.get(merchant_id=merchant.pk, code="merchant_available", currency="BHD",
                                     livemode=False)
    never_opened = SOME_ACCOUNT
    before = ledger_snapshot()

    _refused(post_transfer(merchant_client, other["wallet"], funded["wallet"], 100), "debit_account_not_found",
             before)
    _refused(post_transfer(merchant_client, funded["wallet"], other["wallet"], 100), "credit_account_not_found",
             before)
    # Nor may the API move the merchant's settlement money (fincore's books) or a made-up account.
    _refused(post_transfer(merchant_client, acc(settlement.pk), funded["wallet"], 100), "debit_account_not_found",
             before)
    _refused(post_transfer(merchant_client, never_opened, funded["wallet"], 100), "debit_account_not_found", before)
    _refused(post_transfer(merchant_client, funded["funding"], never_opened, 100), "credit_account_not_found", before)


@pytest.mark.parametrize(("flag", "code"), [("frozen", "account_frozen"), ("closed", "account_closed")])
def test_a_frozen_or_closed_account_takes_no_transfer(merchant_client, funded, flag, code):
    hold = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=True)
    Account.objects.filter(pk=pk_of(funded["wallet"])).update(**{flag: True})
    before = ledger_snapshot()

    _refused(post_transfer(merchant_client, funded["wallet"], funded["shop"], 100), code, before)
    _refused(post_transfer(merchant_client, funded["funding"], funded["wallet"], 100), code, before)
    _refused(post_transfer(merchant_client, funded["wallet"], funded["shop"], 100, pending=True), code, before)
    _refused(act(merchant_client, hold["id"], "post"), code, before)
    # Ending a hold moves no money: allowed even now.
    assert act(merchant_client, hold["id"], "void").status_code == 201
    assert balance(merchant_client, funded["wallet"]) == money(10000, 0, 10000)


def test_a_client_id_reused_for_another_transfer(merchant_client, funded):
    first = post_transfer(merchant_client, funded["wallet"], funded["shop"], 700, client_id="order-9")
    before = ledger_snapshot()

    again = post_transfer(merchant_client, funded["wallet"], funded["shop"], 700, client_id="order-9")
    other_amount = post_transfer(merchant_client, funded["wallet"], funded["shop"], 800, client_id="order-9")
    other_reference = post_transfer(merchant_client, funded["wallet"], funded["shop"], 700, client_id="order-9",
                                    reference="changed")

    assert first.status_code == 201
    assert again.status_code == 200  # the same transfer: the first one, not a second
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    _refused(other_amount, "exists_with_different_fields", before)
    _refused(other_reference, "exists_with_different_fields", before)


def test_client_ids_are_per_merchant(merchant_client, funded, other):
    mine = post_transfer(merchant_client, funded["wallet"], funded["shop"], 700, client_id="order-1")
    theirs = post_transfer(other["client"], other["funding"], other["wallet"], 700, client_id="order-1")

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_overflows(merchant_client, accounts):
    # The API takes 15 digits at a time; the engine brings the wallet to the bigint's limit.
    funding, wallet = (Account.objects.get(pk=pk_of(accounts[name])) for name in ("funding", "wallet"))
    assert ledger_factories.post_one(funding, wallet, 2**63 - 1, livemode=False).result == Result.OK
    before = ledger_snapshot()

    _refused(post_transfer(merchant_client, accounts["funding"], accounts["wallet"], 1), "overflows", before)


def test_posting_or_voiding_a_resolved_hold(merchant_client, funded):
    posted = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=True)
    voided = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=True)
    assert act(merchant_client, posted["id"], "post").status_code == 201
    assert act(merchant_client, voided["id"], "void").status_code == 201
    before = ledger_snapshot()

    for hold in (posted, voided):
        _refused(act(merchant_client, hold["id"], "post"), "pending_already_resolved", before)
        _refused(act(merchant_client, hold["id"], "void"), "pending_already_resolved", before)
    assert balance(merchant_client, funded["wallet"]) == money(9000, 0, 9000)


def test_posting_more_than_the_hold(merchant_client, funded):
    hold = transfer(merchant_client, funded["wallet"], funded["shop"], 5000, pending=True)
    before = ledger_snapshot()

    _refused(act(merchant_client, hold["id"], "post", {"amount": 5001}), "exceeds_pending_amount", before)
    assert get_transfer(merchant_client, hold["id"])["status"] == "pending"
    # The whole hold, by default.
    assert act(merchant_client, hold["id"], "post").json()["amount"] == 5000


@pytest.mark.parametrize("amount", [0, -1, 10.0, "10"])
def test_a_partial_amount_must_be_a_positive_integer(merchant_client, funded, amount):
    hold = transfer(merchant_client, funded["wallet"], funded["shop"], 5000, pending=True)
    before = ledger_snapshot()

    problem = assert_problem(act(merchant_client, hold["id"], "post", {"amount": amount}), status=400,
                             code="validation_error")

    assert [error["field"] for error in problem["errors"]] == ["amount"]
    assert ledger_snapshot() == before


def test_an_expired_hold_can_be_neither_posted_nor_voided(merchant_client, funded):
    with time_machine.travel(T1, tick=False):
        hold = transfer(merchant_client, funded["wallet"], funded["shop"], 4000, pending=True, timeout=60)
    assert hold["expires_at"] == _local(T1 + timedelta(seconds=60))

    with time_machine.travel(T1 + timedelta(seconds=59), tick=False):
        assert get_transfer(merchant_client, hold["id"])["status"] == "pending"
    with time_machine.travel(T1 + timedelta(seconds=60), tick=False):
        before = ledger_snapshot()
        _refused(act(merchant_client, hold["id"], "post"), "pending_expired", before)
        _refused(act(merchant_client, hold["id"], "void"), "pending_expired", before)
        # It reads expired at once (it can no longer be posted or voided), though until the
        # expiry job runs the hold still holds, and nothing resolved it yet.
        early = get_transfer(merchant_client, hold["id"])
        assert (early["status"], early["resolved_by"]) == ("expired", None)
        assert balance(merchant_client, funded["wallet"]) == money(10000, -4000, 6000)

        assert services.pending_transfers_expire() == 1

        expired = get_transfer(merchant_client, hold["id"])
    assert expired["status"] == "expired"
    expiry = get_transfer(merchant_client, expired["resolved_by"])
    assert (expiry["kind"], expiry["status"], expiry["amount"], expiry["pending_transfer"]) == (
        "expire_pending", "expired", 4000, hold["id"])
    assert balance(merchant_client, funded["wallet"]) == money(10000, 0, 10000)
    assert balance(merchant_client, funded["shop"]) == money(0, 0, 0)


def test_only_a_hold_can_be_posted_or_voided(merchant_client, funded):
    immediate = transfer(merchant_client, funded["wallet"], funded["shop"], 1000)
    before = ledger_snapshot()

    _refused(act(merchant_client, immediate["id"], "post"), "not_pending", before)
    _refused(act(merchant_client, immediate["id"], "void"), "not_pending", before)


def test_only_posted_money_can_be_reversed(merchant_client, funded):
    hold = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=True)
    other_hold = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=True)
    void = act(merchant_client, other_hold["id"], "void").json()
    before = ledger_snapshot()

    problem = _refused(act(merchant_client, hold["id"], "reverse"), "not_reversible", before)
    _refused(act(merchant_client, void["id"], "reverse"), "not_reversible", before)

    assert problem["detail"] == "Only posted money can be reversed; void a pending transfer instead"


def test_a_posted_hold_is_reversed_through_its_posting(merchant_client, funded):
    hold = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=True)
    capture = act(merchant_client, hold["id"], "post", {"amount": 600}).json()

    reversal = act(merchant_client, capture["id"], "reverse")

    assert reversal.status_code == 201
    assert (reversal.json()["amount"], reversal.json()["reverses"]) == (600, capture["id"])
    assert balance(merchant_client, funded["wallet"]) == money(10000, 0, 10000)


def test_a_transfer_is_reversed_once(merchant_client, funded):
    purchase = transfer(merchant_client, funded["wallet"], funded["shop"], 1000)
    reversal = act(merchant_client, purchase["id"], "reverse").json()
    before = ledger_snapshot()

    _refused(act(merchant_client, purchase["id"], "reverse"), "already_reversed", before)
    assert get_transfer(merchant_client, purchase["id"])["reversed_by"] == reversal["id"]


def test_a_reversal_needs_the_money_to_still_be_there(merchant_client, funded):
    purchase = transfer(merchant_client, funded["wallet"], funded["shop"], 1000)
    transfer(merchant_client, funded["shop"], funded["wallet"], 1000)  # the shop spent it
    before = ledger_snapshot()

    _refused(act(merchant_client, purchase["id"], "reverse"), "insufficient_funds", before)


@pytest.mark.parametrize("action", ["post", "void", "reverse"])
def test_another_merchants_transfer_is_not_found(merchant_client, other, action):
    their_hold = transfer(other["client"], other["wallet"], other["funding"], 100, pending=True)
    before = ledger_snapshot()

    for their_transfer in (their_hold, other["transfer"]):
        response = act(merchant_client, their_transfer["id"], action)
        assert_problem(response, status=404, code="not_found", detail=f"No transfer {their_transfer['id']!r}.")
    assert_problem(merchant_client.get(f"{TRANSFERS}/{their_hold['id']}"), status=404, code="not_found")
    assert ledger_snapshot() == before
    assert get_transfer(other["client"], their_hold["id"])["status"] == "pending"


@pytest.mark.parametrize("suffix", ["", "/post", "/void", "/reverse"])
def test_a_malformed_transfer_id_is_not_found(merchant_client, suffix):
    before = ledger_snapshot()

    # An account's id, a made-up id, and a well-formed id of no transfer.
    for transfer_id in (SOME_ACCOUNT, "tr_123", "tr_" + "0" * 25 + "1"):
        method = merchant_client.get if not suffix else merchant_client.post
        assert_problem(method(f"{TRANSFERS}/{transfer_id}{suffix}"), status=404, code="not_found")
    assert ledger_snapshot() == before


def test_every_refusal_code_is_in_the_problem_catalogue(api_client):
    catalogue = {entry["code"]: entry for entry in api_client.get("/api/v1/problems").json()}

    for code in ("insufficient_funds", "same_account", "currency_mismatch", "debit_account_not_found",
                 "credit_account_not_found", "account_frozen", "account_closed", "exists_with_different_fields",
                 "overflows", "pending_already_resolved", "exceeds_pending_amount", "pending_expired", "not_pending",
                 "not_reversible", "already_reversed", "batch_refused", "pending_not_found",
                 "reversed_transfer_not_found", "timeout_must_be_positive"):
        assert catalogue[code]["status"] == 422, code


# --- idempotency ----------------------------------------------------------------------------


def test_the_idempotency_key_becomes_the_client_id_and_a_retry_posts_once(merchant_client, funded):
    body = transfer_body(funded["wallet"], funded["shop"], 2500, reference="order 77")

    first = merchant_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="order-77")
    after_first = ledger_snapshot()
    retry = merchant_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="order-77")

    assert first.status_code == 201
    assert first.json()["client_id"] == "order-77"
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert retry["Idempotent-Replayed"] == "true"
    assert retry["Location"] == first["Location"]
    assert ledger_snapshot() == after_first
    assert Transfer.objects.filter(client_id="order-77").count() == 1
    assert balance(merchant_client, funded["wallet"]) == money(7500, 0, 7500)


def test_the_same_key_with_another_body_is_refused(merchant_client, funded):
    body = transfer_body(funded["wallet"], funded["shop"], 2500)
    merchant_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="order-78")
    before = ledger_snapshot()

    response = merchant_client.post(TRANSFERS, {**body, "amount": 2600}, format="json",
                                    HTTP_IDEMPOTENCY_KEY="order-78")

    assert_problem(response, status=422, code="idempotency_key_reused")
    assert ledger_snapshot() == before


def test_a_retry_after_the_key_was_forgotten_still_posts_once(merchant_client, funded):
    body = transfer_body(funded["wallet"], funded["shop"], 2500)
    first = merchant_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="order-79")
    IdempotencyRecord.objects.all().delete()  # past its 24 hours
    before = ledger_snapshot()

    retry = merchant_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="order-79")

    # The ledger's own client id (the key) catches it: the first transfer, 200 rather than 201.
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert ledger_snapshot() == before


def test_a_refusal_is_replayed_for_its_key(merchant_client, funded):
    body = transfer_body(funded["wallet"], funded["shop"], 20000)
    first = merchant_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="order-80")
    transfer(merchant_client, funded["funding"], funded["wallet"], 20000)  # now it would pass
    before = ledger_snapshot()

    retry = merchant_client.post(TRANSFERS, body, format="json", HTTP_IDEMPOTENCY_KEY="order-80")

    assert_problem(first, status=422, code="insufficient_funds")
    assert retry.status_code == 422
    assert retry["Content-Type"] == "application/problem+json"
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["code"] == "insufficient_funds"
    assert ledger_snapshot() == before


@pytest.mark.parametrize("action", ["post", "void", "reverse"])
def test_a_resolution_or_reversal_is_idempotent_with_a_key(merchant_client, funded, action):
    target = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=action != "reverse")

    first = act(merchant_client, target["id"], action, HTTP_IDEMPOTENCY_KEY=f"{action}-1")
    after_first = ledger_snapshot()
    retry = act(merchant_client, target["id"], action, HTTP_IDEMPOTENCY_KEY=f"{action}-1")

    assert first.status_code == 201
    assert first.json()["client_id"] == f"{action}-1"
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert retry["Idempotent-Replayed"] == "true"
    assert ledger_snapshot() == after_first


# --- reading and listing --------------------------------------------------------------------


def test_a_transfer_is_read_with_its_status(merchant_client, funded):
    hold = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=True, reference="r-1",
                    metadata={"order": "77"})

    response = merchant_client.get(f"{TRANSFERS}/{hold['id']}")

    assert response.status_code == 200
    assert response.json() == hold
    assert (hold["status"], hold["reference"], hold["metadata"]) == ("pending", "r-1", {"order": "77"})


def _listed(client, **query: Any) -> list[str]:
    response = client.get(TRANSFERS, query)
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_the_list_is_newest_first_and_filters(merchant_client, accounts, other):
    made = _worked_example(merchant_client, accounts)
    with time_machine.travel(T7 + STEP, tick=False):
        live_hold = transfer(merchant_client, accounts["wallet"], accounts["shop"], 100, pending=True)["id"]
    newest_first = [live_hold, *(made[name] for name in
                                 ("reversal", "purchase", "void", "second_hold", "capture", "hold", "topup"))]

    assert _listed(merchant_client) == newest_first
    assert _listed(merchant_client, status="pending") == [live_hold]
    assert _listed(merchant_client, status="posted") == [made["reversal"], made["purchase"], made["capture"],
                                                          made["hold"], made["topup"]]
    assert _listed(merchant_client, status="voided") == [made["void"], made["second_hold"]]
    assert _listed(merchant_client, status="expired") == []
    assert _listed(merchant_client, account=accounts["funding"]) == [made["topup"]]
    assert _listed(merchant_client, account=accounts["shop"]) == newest_first[:-1]
    assert _listed(merchant_client, account=other["wallet"]) == []  # theirs: nothing of ours
    assert _listed(merchant_client, **{"from": T3.isoformat(), "to": T6.isoformat()}) == [
        made["void"], made["second_hold"], made["capture"]]
    assert _listed(merchant_client, **{"from": T6.isoformat()}) == newest_first[:3]
    assert _listed(merchant_client, status="posted", account=accounts["funding"], to=T2.isoformat()) == [
        made["topup"]]
    # Merchant B sees only its own.
    assert _listed(other["client"]) == [other["transfer"]["id"]]


def test_expired_holds_are_listed_as_expired(merchant_client, funded):
    with time_machine.travel(T1, tick=False):
        hold = transfer(merchant_client, funded["wallet"], funded["shop"], 100, pending=True, timeout=1)
    with time_machine.travel(T1 + timedelta(seconds=1), tick=False):
        services.pending_transfers_expire()

    expiry = get_transfer(merchant_client, hold["id"])["resolved_by"]
    assert _listed(merchant_client, status="expired") == [expiry, hold["id"]]
    assert _listed(merchant_client, status="pending") == []


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ({"status": "refunded"}, "status", "invalid_choice"),
        ({"account": "acc_nope"}, "account", "invalid"),
        ({"from": "monday"}, "from", "invalid"),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to", "invalid"),
    ],
)
def test_a_malformed_list_filter_is_a_validation_error(merchant_client, query, field, code):
    problem = assert_problem(merchant_client.get(TRANSFERS, query), status=400, code="validation_error")

    assert [(error["field"], error["code"]) for error in problem["errors"]] == [(field, code)]


def _make_transfers(merchant_id, source: Account, wallet: Account, shop: Account, rounds: int) -> None:
    """Each round: a held-and-posted, a held-and-voided, a live hold, and a reversed purchase, in
    the accounts' mode."""
    livemode = source.livemode
    for _ in range(rounds):
        transfer_posted(merchant_id, source, wallet, 1000)
        posted = transfer_posted(merchant_id, wallet, shop, 100, pending=True)
        services.transfer_post_pending(pending_id=posted.pk, actor=ACTOR, amount=60, merchant_id=merchant_id,
                                       livemode=livemode)
        voided = transfer_posted(merchant_id, wallet, shop, 100, pending=True)
        services.transfer_void_pending(pending_id=voided.pk, actor=ACTOR, merchant_id=merchant_id, livemode=livemode)
        transfer_posted(merchant_id, wallet, shop, 100, pending=True)
        purchase = transfer_posted(merchant_id, wallet, shop, 100)
        services.transfer_reverse(transfer_id=purchase.pk, actor=ACTOR, merchant_id=merchant_id, livemode=livemode)


def _list_queries(client, **query: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(TRANSFERS, query).status_code == 200
    return len(queries)


def test_listing_costs_the_same_queries_however_long_the_page(merchant, merchant_client,
                                                              django_assert_max_num_queries):
    source = account_opened(merchant.pk, allow_overdraft=True)
    wallet, shop = account_opened(merchant.pk), account_opened(merchant.pk)
    _make_transfers(merchant.pk, source, wallet, shop, rounds=1)
    few = _list_queries(merchant_client)
    _make_transfers(merchant.pk, source, wallet, shop, rounds=12)  # 12 x 9 transfers more

    with django_assert_max_num_queries(few):
        page = merchant_client.get(TRANSFERS, {"limit": 100})
    for status in ("pending", "posted", "voided"):
        with django_assert_max_num_queries(few):
            assert merchant_client.get(TRANSFERS, {"limit": 100, "status": status}).status_code == 200

    assert len(page.json()["results"]) == 100
    assert few <= 7
    statuses = {item["status"] for item in page.json()["results"]}
    assert statuses == {"posted", "pending", "voided"}
    assert any(item["reversed_by"] for item in page.json()["results"])
    assert any(item["resolved_by"] for item in page.json()["results"])


def test_a_hold_past_its_timeout_is_listed_as_expired_before_the_job_runs(merchant_client, funded):
    with time_machine.travel(T1, tick=False):
        short = transfer(merchant_client, funded["wallet"], funded["shop"], 100, pending=True, timeout=60)["id"]
        long = transfer(merchant_client, funded["wallet"], funded["shop"], 100, pending=True, timeout=120)["id"]
        endless = transfer(merchant_client, funded["wallet"], funded["shop"], 100, pending=True)["id"]

    with time_machine.travel(T1 + timedelta(seconds=59), tick=False):
        assert _listed(merchant_client, status="pending") == [endless, long, short]
        assert _listed(merchant_client, status="expired") == []
    with time_machine.travel(T1 + timedelta(seconds=60), tick=False):
        assert _listed(merchant_client, status="pending") == [endless, long]
        assert _listed(merchant_client, status="expired") == [short]
        assert [item["status"] for item in merchant_client.get(TRANSFERS).json()["results"]] == [
            "pending", "pending", "expired", "posted"]  # and the fixture's top-up
    with time_machine.travel(T1 + timedelta(seconds=120), tick=False):
        assert _listed(merchant_client, status="pending") == [endless]
        assert _listed(merchant_client, status="expired") == [long, short]
        # Still holding until the job releases them.
        assert balance(merchant_client, funded["wallet"]) == money(10000, -300, 9700)
        assert Transfer.objects.filter(kind="expire_pending").count() == 0

        assert services.pending_transfers_expire() == 2

        expiries = [get_transfer(merchant_client, hold)["resolved_by"] for hold in (long, short)]
        assert set(_listed(merchant_client, status="expired")) == {*expiries, long, short}
        assert _listed(merchant_client, status="pending") == [endless]
        assert balance(merchant_client, funded["wallet"]) == money(10000, -100, 9900)


# --- test and live keys ------------------------------------------------------------------------


@pytest.fixture
def live(merchant) -> dict[str, Any]:
    """A live key of the same merchant, its live funding account and wallet, a live payment of
    3.000 into the wallet and a live hold of 500 from it."""
    client = authenticated_client(api_key_issue(merchant, mode=ApiKey.Mode.LIVE, name="live checkout server"))
    # A live key opens no funding account: fincore's own services do.
    funding = acc(account_opened(merchant.pk, allow_overdraft=True, reference="live treasury", livemode=True).pk)
    wallet = open_account(client, reference="live customer")["id"]
    payment = transfer(client, funding, wallet, 3000)
    hold = transfer(client, wallet, funding, 500, pending=True)
    return {"client": client, "funding": funding, "wallet": wallet, "payment": payment, "hold": hold}


def test_a_live_key_moves_live_money(merchant, live):
    assert (live["payment"]["livemode"], live["hold"]["livemode"]) == (True, True)
    stored = Transfer.objects.get(pk=pk_of(live["payment"]["id"]))
    assert (stored.livemode, stored.merchant_id) == (True, merchant.pk)
    assert balance(live["client"], live["wallet"]) == money(3000, -500, 2500)


@pytest.mark.parametrize("action", ["", "post", "void", "reverse"])
def test_a_key_never_sees_or_acts_on_a_transfer_of_the_other_mode(merchant_client, funded, live, action):
    test_hold = transfer(merchant_client, funded["wallet"], funded["shop"], 100, pending=True)
    test_payment = transfer(merchant_client, funded["wallet"], funded["shop"], 200)
    before = ledger_snapshot()

    for client, theirs in ((merchant_client, live["hold"]), (merchant_client, live["payment"]),
                           (live["client"], test_hold), (live["client"], test_payment)):
        response = client.get(f"{TRANSFERS}/{theirs['id']}") if not action else act(client, theirs["id"], action)
        assert_problem(response, status=404, code="not_found", detail=f"No transfer {theirs['id']!r}.")

    assert ledger_snapshot() == before
    assert get_transfer(live["client"], live["hold"]["id"])["status"] == "pending"
    assert get_transfer(merchant_client, test_hold["id"])["status"] == "pending"


def test_a_key_cannot_move_money_of_the_other_mode(merchant_client, funded, live):
    before = ledger_snapshot()

    _refused(post_transfer(merchant_client, live["wallet"], funded["shop"], 100), "debit_account_not_found", before)
    _refused(post_transfer(merchant_client, funded["funding"], live["wallet"], 100), "credit_account_not_found",
             before)
    _refused(post_transfer(live["client"], funded["wallet"], live["wallet"], 100), "debit_account_not_found", before)
    _refused(post_transfer(live["client"], live["funding"], funded["wallet"], 100, pending=True),
             "credit_account_not_found", before)


def test_each_key_lists_the_transfers_of_its_mode(merchant_client, funded, live):
    test_payment = transfer(merchant_client, funded["wallet"], funded["shop"], 200)["id"]
    test_topup = tr(Transfer.objects.get(debit_account_id=pk_of(funded["funding"])).pk)  # the fixture's

    assert _listed(merchant_client) == [test_payment, test_topup]
    assert _listed(live["client"]) == [live["hold"]["id"], live["payment"]["id"]]
    assert _listed(live["client"], status="pending") == [live["hold"]["id"]]
    assert _listed(merchant_client, status="pending") == []
    # Filtering by an account of the other mode finds nothing of one's own.
    assert _listed(merchant_client, account=live["wallet"]) == []
    assert _listed(live["client"], account=funded["wallet"]) == []


def test_the_same_idempotency_key_in_test_and_live_makes_two_transfers(merchant, merchant_client, funded, live):
    test_body = transfer_body(funded["wallet"], funded["shop"], 700)
    live_body = transfer_body(live["wallet"], live["funding"], 700)

    test_first = merchant_client.post(TRANSFERS, test_body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    live_first = live["client"].post(TRANSFERS, live_body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    test_retry = merchant_client.post(TRANSFERS, test_body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    live_retry = live["client"].post(TRANSFERS, live_body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")

    assert (test_first.status_code, live_first.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in live_first
    assert test_first.json()["id"] != live_first.json()["id"]
    assert [(t["client_id"], t["livemode"]) for t in (test_first.json(), live_first.json())] == [
        ("order-1", False), ("order-1", True)]
    # Each retry replays its own mode's answer.
    assert (test_retry.json(), test_retry["Idempotent-Replayed"]) == (test_first.json(), "true")
    assert (live_retry.json(), live_retry["Idempotent-Replayed"]) == (live_first.json(), "true")
    assert sorted(Transfer.objects.filter(client_id="order-1").values_list("livemode", flat=True)) == [False, True]
    assert sorted(IdempotencyRecord.objects.filter(key="order-1").values_list("scope", flat=True)) == [
        f"{merchant.pk}:live", f"{merchant.pk}:test"]


def test_the_same_client_id_in_test_and_live_makes_two_transfers_even_without_the_key_records(
    merchant_client, funded, live
):
    # With the idempotency records gone, the ledger's own client ids keep the modes apart too.
    test_first = transfer(merchant_client, funded["wallet"], funded["shop"], 700, client_id="order-2")
    IdempotencyRecord.objects.all().delete()
    live_first = post_transfer(live["client"], live["wallet"], live["funding"], 700, client_id="order-2")

    assert live_first.status_code == 201
    assert live_first.json()["id"] != test_first["id"]


# --- reserved client ids -----------------------------------------------------------------------

RESERVED = "Client ids starting with 'fincore:' are fincore's."


@pytest.mark.parametrize("client_id", ["fincore:", "fincore:expire:0195a000-0000-7000-8000-000000000001"])
def test_a_client_id_in_fincores_namespace_is_refused(merchant_client, funded, client_id):
    before = ledger_snapshot()

    response = post_transfer(merchant_client, funded["wallet"], funded["shop"], 100, client_id=client_id)

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{"field": "client_id", "code": "invalid", "detail": RESERVED}]
    assert ledger_snapshot() == before


@pytest.mark.parametrize("client_id", ["Fincore:1", "my-fincore:1", "fincore-1", "expire:order-1"])
def test_client_ids_merely_like_fincores_are_the_merchants(merchant_client, funded, client_id):
    assert transfer(merchant_client, funded["wallet"], funded["shop"], 100, client_id=client_id)["client_id"] == \
        client_id


@pytest.mark.parametrize("action", ["", "post", "void", "reverse"])
def test_an_idempotency_key_in_fincores_namespace_is_refused(merchant_client, funded, action):
    target = transfer(merchant_client, funded["wallet"], funded["shop"], 100, pending=action in ("post", "void"))
    before = ledger_snapshot()
    key = f"fincore:expire:{pk_of(target['id'])}"

    if action:
        response = act(merchant_client, target["id"], action, HTTP_IDEMPOTENCY_KEY=key)
    else:
        response = merchant_client.post(TRANSFERS, transfer_body(funded["wallet"], funded["shop"], 100),
                                        format="json", HTTP_IDEMPOTENCY_KEY=key)

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{"field": "Idempotency-Key", "code": "invalid", "detail": RESERVED}]
    assert ledger_snapshot() == before


def test_a_client_id_given_in_the_body_wins_over_a_reserved_idempotency_key(merchant_client, funded):
    # The key is then only the request's idempotency key, never a client id.
    body = transfer(merchant_client, funded["wallet"], funded["shop"], 100, client_id="order-3",
                    headers={"HTTP_IDEMPOTENCY_KEY": "fincore:order-3"})

    assert body["client_id"] == "order-3"


def test_no_merchant_can_block_the_expiry_of_a_hold(merchant_client, funded):
    with time_machine.travel(T1, tick=False):
        hold = transfer(merchant_client, funded["wallet"], funded["shop"], 400, pending=True, timeout=60)
        # The client id its expiry will take is out of the merchant's reach ...
        squatted = post_transfer(merchant_client, funded["wallet"], funded["shop"], 1,
                                 client_id=f"fincore:expire:{pk_of(hold['id'])}")
        assert squatted.status_code == 400
        # ... and the one it used to take is an ordinary client id now.
        transfer(merchant_client, funded["wallet"], funded["shop"], 1, client_id=f"expire:{pk_of(hold['id'])}")

    with time_machine.travel(T1 + timedelta(seconds=60), tick=False):
        assert services.pending_transfers_expire() == 1

    expiry = get_transfer(merchant_client, get_transfer(merchant_client, hold["id"])["resolved_by"])
    assert (expiry["kind"], expiry["client_id"], expiry["livemode"]) == (
        "expire_pending", f"fincore:expire:{pk_of(hold['id'])}", False)
    assert balance(merchant_client, funded["wallet"]) == money(9999, 0, 9999)


# --- code and reference of posts, voids and reversals -------------------------------------------


@pytest.mark.parametrize("action", ["post", "void", "reverse"])
def test_a_resolution_or_reversal_takes_its_originals_reference(merchant_client, funded, action):
    original = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=action != "reverse",
                        reference="order 12")

    made = act(merchant_client, original["id"], action, HTTP_IDEMPOTENCY_KEY=f"{action}-12")

    assert made.status_code == 201
    assert (made.json()["code"], made.json()["reference"]) == (
        "reversal" if action == "reverse" else "transfer", "order 12")


@pytest.mark.parametrize("action", ["post", "void", "reverse"])
def test_a_resolution_or_reversal_retried_after_its_key_was_forgotten_is_found(merchant_client, funded, action):
    original = transfer(merchant_client, funded["wallet"], funded["shop"], 1000, pending=action != "reverse",
                        reference="order 13")
    first = act(merchant_client, original["id"], action, HTTP_IDEMPOTENCY_KEY=f"{action}-13")
    IdempotencyRecord.objects.all().delete()  # past its 24 hours
    before = ledger_snapshot()

    # Sent as the first was, without code or reference: the ledger finds the first by its
    # client id (the key), though that one took the original's reference.
    retry = act(merchant_client, original["id"], action, HTTP_IDEMPOTENCY_KEY=f"{action}-13")

    assert first.status_code == 201
    assert (retry.status_code, retry.json()) == (200, first.json())
    assert ledger_snapshot() == before


# --- the OpenAPI description --------------------------------------------------------------------

LEDGER_OPERATIONS = {
    ("/api/v1/accounts", "get"): "accounts_list",
    ("/api/v1/accounts", "post"): "accounts_create",
    ("/api/v1/accounts/{account_id}", "get"): "accounts_retrieve",
    ("/api/v1/accounts/{account_id}/balance", "get"): "accounts_balance",
    ("/api/v1/accounts/{account_id}/statement", "get"): "accounts_statement",
    ("/api/v1/transfers", "get"): "transfers_list",
    ("/api/v1/transfers", "post"): "transfers_create",
    ("/api/v1/transfers/batch", "post"): "transfers_batch",
    ("/api/v1/transfers/{transfer_id}", "get"): "transfers_retrieve",
    ("/api/v1/transfers/{transfer_id}/post", "post"): "transfers_post",
    ("/api/v1/transfers/{transfer_id}/void", "post"): "transfers_void",
    ("/api/v1/transfers/{transfer_id}/reverse", "post"): "transfers_reverse",
}


@pytest.fixture
def schema(api_client) -> dict:
    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    validate_schema(response.json())
    return response.json()


def _ref(content: dict) -> str:
    return content["application/json"]["schema"]["$ref"].removeprefix("#/components/schemas/")


def test_the_schema_describes_every_ledger_operation(schema):
    operations = {(path, method): operation for path, methods in schema["paths"].items()
                  for method, operation in methods.items()}

    assert {key: operations[key]["operationId"] for key in LEDGER_OPERATIONS} == LEDGER_OPERATIONS
    for key in LEDGER_OPERATIONS:
        operation = operations[key]
        assert operation["description"], key
        assert operation["security"] == [{"ApiKey": []}], key
        assert "Context:" not in operation["description"]
        if key[1] == "post":
            assert "422" in operation["responses"], key
            assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]], key


def test_the_schema_names_each_request_and_response(schema):
    paths = schema["paths"]

    def body(path: str, method: str) -> str:
        return _ref(paths[path][method]["requestBody"]["content"])

    def answer(path: str, method: str, status: str) -> str:
        return _ref(paths[path][method]["responses"][status]["content"])

    assert body("/api/v1/accounts", "post") == "AccountCreateRequest"
    assert answer("/api/v1/accounts", "post", "201") == "Account"
    assert answer("/api/v1/accounts", "get", "200") == "PaginatedAccountList"
    assert answer("/api/v1/accounts/{account_id}", "get", "200") == "Account"
    assert answer("/api/v1/accounts/{account_id}/balance", "get", "200") == "Balance"
    assert answer("/api/v1/accounts/{account_id}/statement", "get", "200") == "PaginatedStatementLineList"
    assert body("/api/v1/transfers", "post") == "TransferCreateRequest"
    assert answer("/api/v1/transfers", "post", "201") == "Transfer"
    assert answer("/api/v1/transfers", "post", "200") == "Transfer"
    assert answer("/api/v1/transfers", "get", "200") == "PaginatedTransferList"
    assert answer("/api/v1/transfers/{transfer_id}", "get", "200") == "Transfer"
    assert body("/api/v1/transfers/{transfer_id}/post", "post") == "TransferPostRequest"
    for action in ("post", "void", "reverse"):
        assert answer(f"/api/v1/transfers/{{transfer_id}}/{action}", "post", "201") == "Transfer"
    assert body("/api/v1/transfers/batch", "post") == "TransferBatchRequest"
    assert answer("/api/v1/transfers/batch", "post", "200") == "BatchResponse"
    components = schema["components"]["schemas"]
    assert components["BatchResponse"]["properties"]["results"]["items"] == {"$ref": "#/components/schemas/BatchResult"}
    assert components["TransferBatchRequest"]["properties"]["transfers"]["items"] == {
        "$ref": "#/components/schemas/TransferCreateRequest"}
    # The lists take their filters and a cursor.
    parameters = {name: {p["name"] for p in paths[path]["get"]["parameters"]} for name, path in (
        ("accounts", "/api/v1/accounts"), ("statement", "/api/v1/accounts/{account_id}/statement"),
        ("transfers", "/api/v1/transfers"), ("balance", "/api/v1/accounts/{account_id}/balance"))}
    assert parameters == {
        "accounts": {"reference", "currency", "cursor", "limit"},
        "statement": {"account_id", "from", "to", "cursor", "limit"},
        "transfers": {"account", "status", "from", "to", "cursor", "limit"},
        "balance": {"account_id", "as_of"},
    }


def test_every_amount_in_the_schema_is_an_integer(schema):
    components = schema["components"]["schemas"]

    assert components["TransferCreateRequest"]["properties"]["amount"] == {
        "type": "integer", "format": "int64", "minimum": 1, "maximum": 999_999_999_999_999, "example": 12500,
        "description": "Minor units of the currency (12.500 BHD is 12500), 1 to 999999999999999 (15 digits)."}
    assert components["TransferPostRequest"]["properties"]["amount"]["type"] == "integer"
    assert components["Transfer"]["properties"]["amount"]["type"] == "integer"
    for name in ("posted", "pending", "available"):
        assert components["Balance"]["properties"][name]["type"] == "integer"
    for name in ("amount", "pending_amount"):
        assert components["StatementLine"]["properties"][name]["type"] == "integer"
    assert components["TransferCreateRequest"]["properties"]["timeout"]["type"] == "integer"
    assert "amount" in components["TransferCreateRequest"]["required"]
    # Nothing about money is a number that could be a float.
    assert '"type": "number"' not in str(schema).replace("'", '"')


def test_a_transfers_ids_are_those_the_other_endpoints_take(merchant_client, accounts):
    body = transfer(merchant_client, accounts["funding"], accounts["wallet"], 100)

    assert merchant_client.get(f"{ACCOUNTS}/{body['debit_account']}").status_code == 200
    assert ids.decode("tr", body["id"]) == Transfer.objects.get(client_id=body["client_id"]).pk
    assert tr(pk_of(body["id"])) == body["id"]


# --- outside a test transaction: the group-commit thread ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_overdraw_a_wallet(merchant_client, secret, idle_sessions_ended_at_exit):
    # idle_sessions_ended_at_exit (tests/ledger/conftest.py): the committer thread keeps its
    # connection, which would stop the test database from being dropped at the end.
    assert not connection.in_atomic_block  # so the service hands each transfer to the group-commit thread
    funding = open_account(merchant_client, allow_overdraft=True)["id"]
    wallet, shop = open_account(merchant_client)["id"], open_account(merchant_client)["id"]
    transfer(merchant_client, funding, wallet, 5000)

    def spend(number: int) -> tuple[int, str]:
        try:
            response = post_transfer(authenticated_client(secret), wallet, shop, 1000, client_id=f"spend-{number}")
            return response.status_code, response.json()["status"] if response.status_code == 201 else (
                response.json()["code"])
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(spend, range(8)))

    # Posted through the group-commit thread (no transaction of the test's around them).
    assert outcomes == [(201, "posted")] * 5 + [(422, "insufficient_funds")] * 3
    assert balance(merchant_client, wallet) == money(0, 0, 0)
    assert balance(merchant_client, shop) == money(5000, 0, 5000)
    assert Transfer.objects.filter(client_id__startswith="spend-").count() == 5
    assert services.ledger_check(actor=ACTOR).ok


def test_the_schema_shows_each_account_and_transfers_mode(schema):
    components = schema["components"]["schemas"]

    for name in ("Account", "Transfer"):
        livemode = components[name]["properties"]["livemode"]
        assert (livemode["type"], livemode["readOnly"]) == ("boolean", True), name
        assert "livemode" in components[name]["required"], name
    # It follows the key: nobody sends it.
    for name in ("AccountCreateRequest", "TransferCreateRequest"):
        assert "livemode" not in components[name]["properties"], name
