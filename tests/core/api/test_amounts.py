"""Every amount the API accepts is bounded, the same way everywhere (``AmountField``), and the
schema says so."""

import pytest

from apps.core import ids
from apps.core.currencies import LARGEST_AMOUNT
from apps.ledger.models import Transfer
from apps.payments.models import Payment, Refund
from tests.core.api.assertions import assert_problem
from tests.ledger.api_helpers import open_account

pytestmark = pytest.mark.django_db

TOO_LARGE = [LARGEST_AMOUNT + 1, 2**63 - 1, 2**63, 10**30]
A_PAYMENT = ids.encode("pay", ids.uuid7())
A_TRANSFER = ids.encode("tr", ids.uuid7())


def _card_payment(amount: int) -> dict:
    return {"amount": amount, "currency": "BHD", "country": "BH", "payment_method": {"type": "card",
                                                                                      "token": "tok_success"}}


def _assert_amount_refused(response) -> None:
    body = assert_problem(response, status=400, code="validation_error")
    assert body["errors"] == [{"field": "amount", "code": "max_value",
                               "detail": f"At most {LARGEST_AMOUNT} minor units (15 digits)."}]


@pytest.mark.parametrize("amount", TOO_LARGE)
def test_a_payment_larger_than_the_bound_is_refused(merchant_client, amount: int) -> None:
    response = merchant_client.post("/api/v1/payments", _card_payment(amount), format="json")

    _assert_amount_refused(response)
    assert not Payment.objects.exists()


def test_a_payment_at_the_bound_is_accepted(merchant_client) -> None:
    response = merchant_client.post("/api/v1/payments", _card_payment(LARGEST_AMOUNT), format="json")

    assert response.status_code == 202, response.content
    assert response.json()["amount"] == LARGEST_AMOUNT


@pytest.mark.parametrize(
    "path", [f"/api/v1/payments/{A_PAYMENT}/capture", f"/api/v1/transfers/{A_TRANSFER}/post"],
    ids=["capture", "post"],
)
def test_a_capture_or_post_larger_than_the_bound_is_refused(merchant_client, path: str) -> None:
    response = merchant_client.post(path, {"amount": LARGEST_AMOUNT + 1}, format="json")

    _assert_amount_refused(response)


def test_a_refund_larger_than_the_bound_is_refused(merchant_client) -> None:
    response = merchant_client.post("/api/v1/refunds", {"payment": A_PAYMENT, "amount": LARGEST_AMOUNT + 1},
                                    format="json")

    _assert_amount_refused(response)
    assert not Refund.objects.exists()


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_a_transfer_larger_than_the_bound_is_refused(merchant_client, batch: bool) -> None:
    funding, wallet = open_account(merchant_client, allow_overdraft=True), open_account(merchant_client)
    transfer = {"debit_account": funding["id"], "credit_account": wallet["id"], "amount": LARGEST_AMOUNT + 1,
                "currency": "BHD"}

    if batch:
        response = merchant_client.post("/api/v1/transfers/batch", {"transfers": [transfer]}, format="json")
        body = assert_problem(response, status=400, code="validation_error")
        assert [(error["field"], error["code"]) for error in body["errors"]] == [("transfers.0.amount", "max_value")]
    else:
        _assert_amount_refused(merchant_client.post("/api/v1/transfers", transfer, format="json"))
    assert not Transfer.objects.filter(amount__gt=LARGEST_AMOUNT).exists()


def test_the_schema_states_the_bound_of_every_amount(api_client) -> None:
    schema = api_client.get("/api/v1/schema/?format=json", HTTP_ACCEPT="application/json").json()
    requests = {name: component for name, component in schema["components"]["schemas"].items()
                if name.endswith("Request")}

    amounts = {name: component["properties"]["amount"] for name, component in requests.items()
               if "amount" in component.get("properties", {})}

    assert set(amounts) >= {"PaymentCreateRequest", "CaptureRequest", "RefundCreateRequest", "TransferCreateRequest",
                            "TransferPostRequest"}
    assert {(amount["minimum"], amount["maximum"]) for amount in amounts.values()} == {(1, LARGEST_AMOUNT)}
