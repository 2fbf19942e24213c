"""POST /transfers/batch: up to 1,000 transfers in one request and one ledger transaction, a
result each; with ``atomic``, all of them or none."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import IdempotencyRecord
from apps.ledger.models import Transfer
from apps.merchants.models import ApiKey
from tests.core.api.assertions import assert_problem
from tests.factories.merchants import api_key_issue, authenticated_client, merchant_with_key
from tests.ledger.api_helpers import (
    BATCH,
    acc,
    account_opened,
    balance,
    get_transfer,
    ledger_snapshot,
    money,
    open_account,
    pk_of,
    transfer,
    transfer_body,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(merchant_client) -> dict[str, str]:
    return {
        "funding": open_account(merchant_client, allow_overdraft=True)["id"],
        "wallet": open_account(merchant_client, reference="customer-alice")["id"],
        "shop": open_account(merchant_client, reference="shop-bakery")["id"],
    }


@pytest.fixture
def their_wallet() -> str:
    _merchant, secret = merchant_with_key(legal_name="Other Shop B.S.C.")
    return open_account(authenticated_client(secret))["id"]


def _batch(client, transfers: list[dict], *, atomic: bool | None = None, **headers: str):
    body: dict = {"transfers": transfers}
    if atomic is not None:
        body["atomic"] = atomic
    return client.post(BATCH, body, format="json", **headers)


def _mixed(accounts: dict[str, str], their_wallet: str) -> list[dict]:
    funding, wallet, shop = accounts["funding"], accounts["wallet"], accounts["shop"]
    return [
        transfer_body(funding, wallet, 5000, reference="top-up"),   # 0 ok: the wallet holds 5.000
        transfer_body(wallet, shop, 6000),                          # 1 more than it holds
        transfer_body(wallet, wallet, 100),                         # 2 to itself
        transfer_body(wallet, shop, 2000, pending=True, timeout=600),  # 3 ok: a hold, 3.000 left available
        transfer_body(their_wallet, shop, 100),                     # 4 not ours
        transfer_body(wallet, shop, 3000),                          # 5 ok: the last 3.000 available
        transfer_body(wallet, shop, 1),                             # 6 nothing left
    ]


def test_each_transfer_of_a_batch_has_its_own_result(merchant_client, accounts, their_wallet):
    response = _batch(merchant_client, _mixed(accounts, their_wallet))

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(item["index"], item["result"]) for item in results] == [
        (0, "ok"), (1, "insufficient_funds"), (2, "same_account"), (3, "ok"), (4, "debit_account_not_found"),
        (5, "ok"), (6, "insufficient_funds"),
    ]
    assert [item["transfer"] is None for item in results] == [False, True, True, False, True, False, True]
    posted = [item["transfer"] for item in results if item["transfer"]]
    assert [(t["kind"], t["status"], t["amount"], t["reference"]) for t in posted] == [
        ("immediate", "posted", 5000, "top-up"), ("pending", "pending", 2000, ""), ("immediate", "posted", 3000, ""),
    ]
    # Each as GET shows it.
    assert [get_transfer(merchant_client, t["id"]) for t in posted] == posted
    assert Transfer.objects.count() == 3
    assert balance(merchant_client, accounts["wallet"]) == money(2000, -2000, 0)
    assert balance(merchant_client, accounts["shop"]) == money(3000, 2000, 3000)


def test_a_batch_of_refusals_is_still_200_and_writes_nothing(merchant_client, accounts, their_wallet):
    before = ledger_snapshot()

    response = _batch(merchant_client, [transfer_body(accounts["wallet"], accounts["shop"], 1),
                                        transfer_body(their_wallet, accounts["shop"], 1)])

    assert response.status_code == 200
    assert response.json() == {"results": [
        {"index": 0, "result": "insufficient_funds", "transfer": None},
        {"index": 1, "result": "debit_account_not_found", "transfer": None},
    ]}
    assert ledger_snapshot() == before


def test_an_atomic_batch_with_a_refusal_posts_nothing(merchant_client, accounts, their_wallet):
    before = ledger_snapshot()

    response = _batch(merchant_client, _mixed(accounts, their_wallet), atomic=True)

    problem = assert_problem(response, status=422, code="batch_refused")
    # The first refusal is named; every other transfer failed with it.
    assert problem["results"] == [
        {"index": 0, "result": "linked_event_failed"},
        {"index": 1, "result": "insufficient_funds"},
        *({"index": index, "result": "linked_event_failed"} for index in range(2, 7)),
    ]
    assert ledger_snapshot() == before


def test_an_atomic_batch_posts_everything_together(merchant_client, accounts):
    funding, wallet, shop = accounts["funding"], accounts["wallet"], accounts["shop"]

    response = _batch(merchant_client, [
        transfer_body(funding, wallet, 5000),
        transfer_body(wallet, shop, 5000),  # only possible after the first
    ], atomic=True)

    assert response.status_code == 200
    assert [item["result"] for item in response.json()["results"]] == ["ok", "ok"]
    assert balance(merchant_client, wallet) == money(0, 0, 0)
    assert balance(merchant_client, shop) == money(5000, 0, 5000)


def test_a_batch_applies_its_transfers_in_order(merchant_client, accounts):
    funding, wallet, shop = accounts["funding"], accounts["wallet"], accounts["shop"]

    response = _batch(merchant_client, [transfer_body(wallet, shop, 5000), transfer_body(funding, wallet, 5000)])

    assert [item["result"] for item in response.json()["results"]] == ["insufficient_funds", "ok"]
    assert balance(merchant_client, wallet) == money(5000, 0, 5000)


def _batch_queries(client, transfers: list[dict]) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = _batch(client, transfers)
    return len(queries), response


def test_a_thousand_transfers_in_one_request_in_constant_queries(merchant_client, accounts):
    funding, wallet = accounts["funding"], accounts["wallet"]
    few, _response = _batch_queries(merchant_client, [transfer_body(funding, wallet, 1)] * 2)

    many, response = _batch_queries(merchant_client, [transfer_body(funding, wallet, n) for n in range(1, 1001)])

    assert response.status_code == 200, response.content[:500]
    results = response.json()["results"]
    assert len(results) == 1000
    assert {item["result"] for item in results} == {"ok"}
    assert [item["index"] for item in results] == list(range(1000))
    assert [item["transfer"]["amount"] for item in results] == list(range(1, 1001))
    assert Transfer.objects.count() == 1002
    total = 2 + 1000 * 1001 // 2
    assert balance(merchant_client, wallet) == money(total, 0, total)
    assert balance(merchant_client, funding) == money(-total, 0, -total)
    # One posting, not one per transfer: the batch costs what a batch of two does.
    assert many <= few


def test_refusals_cost_no_query_each(merchant_client, accounts):
    wallet, shop = accounts["wallet"], accounts["shop"]
    few, _response = _batch_queries(merchant_client, [transfer_body(wallet, shop, 1)] * 2)

    many, response = _batch_queries(merchant_client, [transfer_body(wallet, shop, 1)] * 200)

    assert {item["result"] for item in response.json()["results"]} == {"insufficient_funds"}
    assert many <= few


def test_more_than_a_thousand_is_refused_whole(merchant_client, accounts):
    before = ledger_snapshot()

    response = _batch(merchant_client, [transfer_body(accounts["funding"], accounts["wallet"], 1)] * 1001)

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [
        {"field": "transfers", "code": "max_length", "detail": "Ensure this field has no more than 1000 elements."}
    ]
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [{"field": "transfers", "code": "required", "detail": "This field is required."}]),
        ({"transfers": []}, [{"field": "transfers", "code": "empty", "detail": "This list may not be empty."}]),
        ({"transfers": {"amount": 1}}, [{"field": "transfers", "code": "not_a_list",
                                          "detail": 'Expected a list of items but got type "dict".'}]),
        ({"transfers": [{}], "atomic": "perhaps"}, None),
    ],
)
def test_a_malformed_batch_is_a_validation_error(merchant_client, body, errors):
    before = ledger_snapshot()

    problem = assert_problem(merchant_client.post(BATCH, body, format="json"), status=400, code="validation_error")

    if errors is not None:
        assert problem["errors"] == errors
    else:
        assert {error["field"] for error in problem["errors"]} >= {"atomic", "transfers.0.amount"}
    assert ledger_snapshot() == before


def test_one_invalid_transfer_refuses_the_whole_batch(merchant_client, accounts):
    funding, wallet = accounts["funding"], accounts["wallet"]
    before = ledger_snapshot()

    response = _batch(merchant_client, [
        transfer_body(funding, wallet, 100),
        transfer_body(funding, wallet, 12.5),
        transfer_body(funding, wallet, 100, timeout=60),
    ])

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [
        {"field": "transfers.1.amount", "code": "invalid",
         "detail": "Send an integer number of minor units, e.g. 12500 for 12.500 BHD."},
        {"field": "transfers.2.timeout", "code": "invalid", "detail": "Only a pending transfer takes a timeout."},
    ]
    assert ledger_snapshot() == before


# --- client ids and idempotency ---------------------------------------------------------------


def test_each_transfer_takes_the_key_and_its_index_as_client_id(merchant_client, accounts):
    funding, wallet, shop = accounts["funding"], accounts["wallet"], accounts["shop"]
    transfers = [
        transfer_body(funding, wallet, 5000),
        transfer_body(wallet, shop, 1000, client_id="order-42"),  # its own id is kept
        transfer_body(wallet, shop, 500),
    ]

    response = _batch(merchant_client, transfers, HTTP_IDEMPOTENCY_KEY="payday-2026-03")

    assert response.status_code == 200
    assert [item["transfer"]["client_id"] for item in response.json()["results"]] == [
        "payday-2026-03:0", "order-42", "payday-2026-03:2"
    ]


def test_a_replayed_batch_posts_nothing_twice(merchant_client, accounts):
    transfers = [transfer_body(accounts["funding"], accounts["wallet"], 5000),
                 transfer_body(accounts["wallet"], accounts["shop"], 1000)]
    first = _batch(merchant_client, transfers, HTTP_IDEMPOTENCY_KEY="payday-1")
    after_first = ledger_snapshot()

    replay = _batch(merchant_client, transfers, HTTP_IDEMPOTENCY_KEY="payday-1")
    other_body = _batch(merchant_client, transfers[:1], HTTP_IDEMPOTENCY_KEY="payday-1")

    assert (replay.status_code, replay.json()) == (200, first.json())
    assert replay["Idempotent-Replayed"] == "true"
    assert_problem(other_body, status=422, code="idempotency_key_reused")
    assert ledger_snapshot() == after_first


def test_a_batch_retried_after_its_key_was_forgotten_reports_exists(merchant_client, accounts):
    transfers = [transfer_body(accounts["funding"], accounts["wallet"], 5000),
                 transfer_body(accounts["wallet"], accounts["shop"], 1000)]
    first = _batch(merchant_client, transfers, HTTP_IDEMPOTENCY_KEY="payday-2").json()["results"]
    IdempotencyRecord.objects.all().delete()  # past its 24 hours
    before = ledger_snapshot()

    retry = _batch(merchant_client, transfers, HTTP_IDEMPOTENCY_KEY="payday-2")

    assert retry.status_code == 200
    results = retry.json()["results"]
    assert [item["result"] for item in results] == ["exists", "exists"]
    assert [item["transfer"] for item in results] == [item["transfer"] for item in first]
    assert ledger_snapshot() == before


def test_a_client_id_twice_in_one_batch(merchant_client, accounts):
    funding, wallet = accounts["funding"], accounts["wallet"]

    response = _batch(merchant_client, [
        transfer_body(funding, wallet, 100, client_id="dup"),
        transfer_body(funding, wallet, 100, client_id="dup"),
        transfer_body(funding, wallet, 200, client_id="dup"),
    ])

    results = response.json()["results"]
    assert [item["result"] for item in results] == ["ok", "exists", "exists_with_different_fields"]
    assert results[1]["transfer"]["id"] == results[0]["transfer"]["id"]
    assert Transfer.objects.filter(client_id="dup").count() == 1
    assert balance(merchant_client, wallet) == money(100, 0, 100)


def test_a_batch_may_use_a_client_id_posted_before(merchant_client, accounts):
    earlier = transfer(merchant_client, accounts["funding"], accounts["wallet"], 100, client_id="earlier")

    response = _batch(merchant_client, [transfer_body(accounts["funding"], accounts["wallet"], 100,
                                                      client_id="earlier")])

    assert response.json()["results"] == [{"index": 0, "result": "exists", "transfer": earlier}]
    assert Transfer.objects.filter(pk=pk_of(earlier["id"])).count() == 1


# --- reserved client ids and modes ----------------------------------------------------------------

RESERVED = "Client ids starting with 'fincore:' are fincore's."


def test_a_batch_with_a_client_id_in_fincores_namespace_is_refused_whole(merchant_client, accounts):
    before = ledger_snapshot()

    response = _batch(merchant_client, [
        transfer_body(accounts["funding"], accounts["wallet"], 100),
        transfer_body(accounts["funding"], accounts["wallet"], 100, client_id="fincore:expire:1"),
    ])

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{"field": "transfers.1.client_id", "code": "invalid", "detail": RESERVED}]
    assert ledger_snapshot() == before


def test_a_batch_with_an_idempotency_key_in_fincores_namespace_is_refused(merchant_client, accounts):
    before = ledger_snapshot()

    response = _batch(merchant_client, [transfer_body(accounts["funding"], accounts["wallet"], 100)],
                      HTTP_IDEMPOTENCY_KEY="fincore:payday")

    problem = assert_problem(response, status=400, code="validation_error")
    assert problem["errors"] == [{"field": "Idempotency-Key", "code": "invalid", "detail": RESERVED}]
    assert ledger_snapshot() == before


def test_a_batch_moves_only_the_keys_modes_money(merchant, merchant_client, accounts):
    live_client = authenticated_client(api_key_issue(merchant, mode=ApiKey.Mode.LIVE, name="live server"))
    # A live key opens no funding account: fincore's own services do.
    live_funding = acc(account_opened(merchant.pk, allow_overdraft=True, livemode=True).pk)
    live_wallet = open_account(live_client)["id"]
    test_funding, test_wallet = accounts["funding"], accounts["wallet"]
    transfers = [
        transfer_body(test_funding, test_wallet, 100),
        transfer_body(live_funding, live_wallet, 100),
        transfer_body(test_funding, live_wallet, 100),
    ]

    test_results = _batch(merchant_client, transfers).json()["results"]
    live_results = _batch(live_client, transfers).json()["results"]

    assert [item["result"] for item in test_results] == ["ok", "debit_account_not_found", "credit_account_not_found"]
    assert [item["result"] for item in live_results] == ["debit_account_not_found", "ok", "debit_account_not_found"]
    assert (test_results[0]["transfer"]["livemode"], live_results[1]["transfer"]["livemode"]) == (False, True)
    assert balance(merchant_client, test_wallet) == money(100, 0, 100)
    assert balance(live_client, live_wallet) == money(100, 0, 100)


def test_a_batch_whose_idempotency_key_leaves_no_room_for_the_index_is_refused(merchant_client, accounts):
    # The key itself is fine (255 characters); "<key>:0" would not fit a client id.
    key = "k" * 254
    response = _batch(merchant_client, [transfer_body(accounts["funding"], accounts["wallet"], 1)],
                      HTTP_IDEMPOTENCY_KEY=key)

    assert_problem(response, status=400, code="validation_error")
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert not Transfer.objects.exists()
    assert not IdempotencyRecord.objects.filter(response_status__lt=400).exists()
