"""Every API error is RFC 9457 problem details with a stable code, whatever raised it."""

import pytest
from rest_framework.exceptions import ErrorDetail
from rest_framework.test import APIClient

from apps.core import ids
from apps.core.api import problems
from apps.core.exceptions import FincoreError
from apps.core.models import IdempotencyRecord
from apps.merchants import services
from apps.merchants.models import ApiKey
from tests.core.api.assertions import assert_problem
from tests.core.api.urls_for_tests import SECRET_IN_EXCEPTION
from tests.factories.merchants import FACTORY_ACTOR, api_key_of

pytestmark = pytest.mark.django_db

TEST_URLS = pytest.mark.urls("tests.core.api.urls_for_tests")


def _revoke_url(api_key: ApiKey) -> str:
    return f"/api/v1/api_keys/{ids.encode('key', api_key.pk)}/revoke"


# --- 400 ---------------------------------------------------------------------------------


@TEST_URLS
def test_validation_error_lists_every_failing_field(merchant_client):
    response = merchant_client.post(
        "/api/v1/tests/orders",
        {"amount": 0, "address": {"country": "BHR"}, "tags": ["ok", "long"]},
        format="json",
    )

    body = assert_problem(
        response, status=400, code="validation_error", detail="Some fields are invalid; see errors."
    )
    assert body["errors"] == [
        {"field": "amount", "code": "min_value", "detail": "Ensure this value is greater than or equal to 1."},
        {"field": "currency", "code": "required", "detail": "This field is required."},
        {
            "field": "address.country",
            "code": "max_length",
            "detail": "Ensure this field has no more than 2 characters.",
        },
        {"field": "tags.1", "code": "max_length", "detail": "Ensure this field has no more than 3 characters."},
    ]


@TEST_URLS
def test_validation_error_not_tied_to_a_field_has_an_empty_field(merchant_client):
    response = merchant_client.post(
        "/api/v1/tests/orders",
        {"amount": 5, "currency": "USD", "address": {"country": "BH"}, "tags": []},
        format="json",
    )

    body = assert_problem(response, status=400, code="validation_error")
    assert body["errors"] == [
        {"field": "", "code": "currency_unsupported", "detail": "Only BHD orders are accepted."}
    ]


def test_revoke_without_reason_names_the_reason_field(merchant_client, secret):
    api_key = api_key_of(secret)

    response = merchant_client.post(_revoke_url(api_key), {}, format="json")

    body = assert_problem(response, status=400, code="validation_error")
    assert body["errors"] == [{"field": "reason", "code": "required", "detail": "This field is required."}]
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_malformed_json_is_malformed_request_and_changes_nothing(merchant_client, secret):
    api_key = api_key_of(secret)

    response = merchant_client.post(
        _revoke_url(api_key), '{"reason": "leaked', content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    body = assert_problem(response, status=400, code="malformed_request")
    assert body["detail"].startswith("JSON parse error")
    assert "errors" not in body
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [("reason=leaked", "application/x-www-form-urlencoded"), ("reason: leaked", "text/plain")],
)
def test_a_body_that_is_not_json_is_415(merchant_client, secret, payload, content_type):
    api_key = api_key_of(secret)

    response = merchant_client.post(_revoke_url(api_key), payload, content_type=content_type)

    assert_problem(
        response,
        status=415,
        code="unsupported_media_type",
        detail=f'Unsupported media type "{content_type}" in request.',
    )
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


# --- 401, 403 --------------------------------------------------------------------------


def test_missing_credentials_are_401_with_a_challenge(api_client):
    response = api_client.get("/api/v1/merchant")

    assert_problem(
        response, status=401, code="not_authenticated", detail="Authentication credentials were not provided."
    )
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_suspended_merchant_is_403(merchant, merchant_client):
    services.merchant_suspend(merchant_id=merchant.pk, actor=FACTORY_ACTOR, reason="KYC review")

    response = merchant_client.get("/api/v1/merchant")

    assert_problem(
        response, status=403, code="merchant_suspended", detail="This merchant is suspended; contact support."
    )
    assert "WWW-Authenticate" not in response


# --- 404 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/merchant", "/api/v1/api_keys/key_x/revoke/more"])
def test_an_unknown_api_url_is_a_problem(api_client, path):
    response = api_client.get(path)

    assert_problem(response, status=404, code="not_found", detail=f"No endpoint {path}.")


def test_an_unknown_url_outside_the_api_is_an_html_page(api_client):
    response = api_client.get("/nothing-here")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unknown_object_is_404(merchant_client):
    missing = ids.encode("key", ids.uuid7())

    response = merchant_client.get(f"/api/v1/api_keys/{missing}")

    assert_problem(response, status=404, code="not_found", detail=f"No API key {missing!r}.")


@pytest.mark.parametrize(
    "malformed",
    [
        "key_123",
        "mer_" + "0" * 26,  # a well-formed id of another kind
        "key_" + "U" * 26,  # not Crockford base32
        "key_" + "Z" * 26,  # more than 128 bits
        "00000000-0000-7000-8000-000000000000",
    ],
)
def test_a_malformed_id_is_404(merchant_client, malformed):
    response = merchant_client.get(f"/api/v1/api_keys/{malformed}")

    assert_problem(response, status=404, code="not_found", detail=f"No API key {malformed!r}.")


# --- 405 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("delete", "/api/v1/merchant", "GET, HEAD, OPTIONS"),
        ("post", "/api/v1/api_keys", "GET, HEAD, OPTIONS"),
        ("get", "/api/v1/api_keys/{key_id}/revoke", "POST, OPTIONS"),
    ],
)
def test_a_wrong_method_is_405_with_allow(merchant_client, secret, method, path, allow):
    path = path.format(key_id=ids.encode("key", api_key_of(secret).pk))

    response = getattr(merchant_client, method)(path)

    assert_problem(
        response, status=405, code="method_not_allowed", detail=f'Method "{method.upper()}" not allowed.'
    )
    assert response["Allow"] == allow


# --- 429 ---------------------------------------------------------------------------------


def test_rate_limited_is_429_with_retry_after(merchant, merchant_client):
    services.merchant_update(
        merchant_id=merchant.pk, changes={"rate_limit": "1/minute"}, actor=FACTORY_ACTOR, reason="abuse"
    )
    assert merchant_client.get("/api/v1/merchant").status_code == 200

    response = merchant_client.get("/api/v1/merchant")

    body = assert_problem(response, status=429, code="rate_limited")
    assert body["detail"] == "Request was throttled. Expected available in 60 seconds."
    assert response["Retry-After"] == "60"
    assert body["retry_after"] == 60


# --- 500 ---------------------------------------------------------------------------------


@TEST_URLS
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_crash_in_a_view_is_internal_error_without_details(merchant_client, method, caplog):
    response = getattr(merchant_client, method)("/api/v1/tests/crashing", format="json")

    body = assert_problem(response, status=500, code="internal_error")
    assert body == {
        "type": "http://testserver/api/v1/problems/internal_error",
        "title": "Something went wrong on our side",
        "status": 500,
        "detail": "Something went wrong on our side",
        "code": "internal_error",
        "instance": "/api/v1/tests/crashing",
        "request_id": response["X-Request-Id"],
    }
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    # The details go to the log, for us, with the request id.
    crash = next(record for record in caplog.records if record.name == "apps.core.api.problems")
    assert crash.exc_info[1].args == (SECRET_IN_EXCEPTION,)


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_database_being_down_is_503_with_retry_after_not_a_crash(merchant_client, postgresql_down, method, caplog):
    response = getattr(merchant_client, method)("/api/v1/payments", {}, format="json",
                                                HTTP_IDEMPOTENCY_KEY="during-the-outage")

    body = assert_problem(response, status=503, code="database_unavailable")
    assert body["detail"] == "The database is unavailable. Retry shortly with the same Idempotency-Key."
    assert response["Retry-After"] == "1"
    assert "port 1" not in response.content.decode()
    # An outage, logged as such, not an unhandled error (a bug).
    assert [record.getMessage() for record in caplog.records if record.name == "apps.core.api.problems"] == [
        "database unavailable"]


@TEST_URLS
def test_a_crash_outside_drf_under_the_api_is_internal_error(db):
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/v1/tests/crashing-outside-drf")

    body = assert_problem(response, status=500, code="internal_error", detail="Something went wrong on our side")
    assert set(body) == {"type", "title", "status", "detail", "code", "instance", "request_id"}
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


# --- request id ----------------------------------------------------------------------------


def test_a_callers_request_id_is_kept(api_client):
    response = api_client.get("/api/v1/merchant", HTTP_X_REQUEST_ID="shop-7f3a9c2e")

    body = assert_problem(response, status=401, code="not_authenticated")
    assert body["request_id"] == "shop-7f3a9c2e"


@pytest.mark.parametrize("caller_id", ["short", "has space in it", "x" * 129, "<script>alert(1)</script>"])
def test_an_unusual_request_id_is_replaced(api_client, caller_id):
    response = api_client.get("/api/v1/merchant", HTTP_X_REQUEST_ID=caller_id)

    body = assert_problem(response, status=401, code="not_authenticated")
    assert body["request_id"] != caller_id
    assert body["request_id"].startswith("req_")
    assert len(body["request_id"]) == 36


# --- the catalogue -----------------------------------------------------------------------


def test_a_problem_type_resolves_to_its_catalogue_entry(api_client, merchant_client):
    problem = merchant_client.get("/api/v1/nothing-here").json()

    # Anyone may read the catalogue: no key needed.
    response = api_client.get(problem["type"].removeprefix("http://testserver"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "not_found",
        "title": "No such object",
        "status": 404,
        "description": "No such object",
    }


def test_the_catalogue_lists_every_registered_code(api_client):
    response = api_client.get("/api/v1/problems")

    assert response.status_code == 200
    catalogue = response.json()
    assert [entry["code"] for entry in catalogue] == sorted(FincoreError.catalogue)
    by_code = {entry["code"]: entry for entry in catalogue}
    for code in (
        "validation_error", "malformed_request", "not_authenticated", "invalid_api_key", "api_key_revoked",
        "merchant_suspended", "not_found", "method_not_allowed", "unsupported_media_type", "rate_limited",
        "internal_error", "idempotency_key_invalid", "idempotency_key_reused", "idempotency_key_in_use",
        "api_key_already_revoked",
    ):
        assert by_code[code]["title"] == FincoreError.catalogue[code].title
        assert by_code[code]["status"] == FincoreError.catalogue[code].status
    assert by_code["merchant_suspended"]["status"] == 403
    assert by_code["idempotency_key_in_use"]["status"] == 409


def test_an_unknown_problem_type_is_404(api_client):
    response = api_client.get("/api/v1/problems/no_such_code")

    assert_problem(response, status=404, code="not_found", detail="There is no problem type 'no_such_code'.")


def test_field_errors_flatten_nested_details():
    detail = {
        "non_field_errors": [ErrorDetail("bad pair", code="invalid")],
        "items": [{}, {"amount": [ErrorDetail("too big", code="max_value")]}],
        "meta": {"a": {"b": [ErrorDetail("x", code="blank"), ErrorDetail("y", code="invalid")]}},
    }

    assert problems.field_errors(detail) == [
        {"field": "", "code": "invalid", "detail": "bad pair"},
        {"field": "items.1.amount", "code": "max_value", "detail": "too big"},
        {"field": "meta.a.b", "code": "blank", "detail": "x"},
        {"field": "meta.a.b", "code": "invalid", "detail": "y"},
    ]
