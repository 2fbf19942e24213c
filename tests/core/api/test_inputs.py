"""The API reads bodies and query strings as its schema states them (each found by schemathesis,
tests/contract): a field of another JSON type is refused, not coerced; a filter given empty or twice
is refused, not ignored."""

import pytest

from apps.ledger.models import Account, Transfer
from tests.core.api.assertions import assert_problem
from tests.ledger.api_helpers import open_account

pytestmark = pytest.mark.django_db


def _errors(response) -> list[tuple[str, str, str]]:
    body = assert_problem(response, status=400, code="validation_error")
    return [(error["field"], error["code"], error["detail"]) for error in body["errors"]]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"reference": 12}, ("reference", "invalid", "Not a valid string.")),
        ({"reference": 1.5}, ("reference", "invalid", "Not a valid string.")),
        ({"allow_overdraft": "true"}, ("allow_overdraft", "invalid", "Must be a valid boolean.")),
        ({"allow_overdraft": 1}, ("allow_overdraft", "invalid", "Must be a valid boolean.")),
        ({"currency": ["BHD"]}, ("currency", "invalid", "Not a valid string.")),
    ],
)
def test_a_body_field_of_another_json_type_is_refused(merchant_client, fields, error):
    response = merchant_client.post("/api/v1/accounts", {"currency": "BHD", **fields}, format="json")

    assert _errors(response) == [error]
    assert not Account.objects.filter(owner_type=Account.OwnerType.CUSTOMER).exists()


@pytest.mark.parametrize("timeout", ["60", True, 60.0])
def test_an_integer_field_takes_a_json_integer(merchant_client, timeout):
    funding, wallet = open_account(merchant_client, allow_overdraft=True), open_account(merchant_client)

    response = merchant_client.post("/api/v1/transfers", {
        "debit_account": funding["id"], "credit_account": wallet["id"], "amount": 100, "currency": "BHD",
        "pending": True, "timeout": timeout,
    }, format="json")

    assert _errors(response) == [("timeout", "invalid", "A valid integer is required.")]
    assert not Transfer.objects.exists()


def test_a_list_of_strings_takes_strings(merchant_client):
    response = merchant_client.post("/api/v1/webhook_endpoints", {"url": "http://127.0.0.1:9/hooks", "events": [1]},
                                    format="json")

    assert _errors(response) == [("events", "invalid", "Not a valid string.")]


def test_a_mistyped_field_is_listed_with_every_other_invalid_one(merchant_client):
    response = merchant_client.post("/api/v1/accounts", {"reference": 12, "allow_overdraft": "maybe"},
                                    format="json")

    assert _errors(response) == [
        ("currency", "required", "This field is required."),
        ("reference", "invalid", "Not a valid string."),
        ("allow_overdraft", "invalid", "Must be a valid boolean."),
    ]


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/api/v1/payments?status=", ("status", "invalid_choice", '"" is not a valid choice.')),
        ("/api/v1/accounts?reference=", ("reference", "blank", "This field may not be blank.")),
        ("/api/v1/transfers?to=", ("to", "invalid", "Datetime has wrong format. Use one of these formats instead: "
                                                   "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")),
        ("/api/v1/accounts?currency=XYZ", ("currency", "invalid", "'XYZ' is not an ISO 4217 currency code.")),
        ("/api/v1/payments?currency=XYZ", ("currency", "invalid", "'XYZ' is not an ISO 4217 currency code.")),
        ("/api/v1/payments?status=failed&status=succeeded", ("status", "invalid", "Give this parameter once.")),
    ],
    ids=["empty-choice", "empty-text", "empty-time", "unknown-currency", "unknown-currency-payments", "twice"],
)
def test_a_filter_given_empty_twice_or_unknown_is_refused_not_ignored(merchant_client, path, error):
    assert _errors(merchant_client.get(path)) == [error]


def test_filters_given_once_still_filter(merchant_client):
    open_account(merchant_client, reference="alice")

    response = merchant_client.get("/api/v1/accounts?reference=alice&currency=BHD")

    assert [account["reference"] for account in response.json()["results"]] == ["alice"]
