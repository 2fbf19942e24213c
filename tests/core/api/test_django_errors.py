"""Errors Django itself produces — outside DRF's views, or before them — are problem details
under /api/ too, and Django's own pages elsewhere."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.core.exceptions import FincoreError
from tests.core.api.assertions import assert_problem

pytestmark = pytest.mark.django_db

TEST_URLS = pytest.mark.urls("tests.core.api.urls_for_tests")


def test_a_host_this_server_does_not_answer_to_is_a_problem(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/merchant", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    # Not http://evil.example/...: the host the caller forged is not echoed into a link.
    assert body["type"] == "/api/v1/problems/bad_request"
    assert (body["code"], body["title"]) == ("bad_request", FincoreError.catalogue["bad_request"].title)
    assert body["detail"] == "The Host header names a host this server does not answer to."
    assert body["request_id"] == response["X-Request-Id"]


def test_a_host_this_server_does_not_answer_to_outside_the_api_is_djangos_page(api_client: APIClient) -> None:
    response = api_client.get("/admin/login/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_too_many_query_parameters_are_a_problem_not_a_crash(merchant_client: APIClient) -> None:
    query = "&".join(f"reference={n}" for n in range(1_001))

    response = merchant_client.get(f"/api/v1/payments?{query}")

    assert_problem(response, status=400, code="bad_request",
                   detail="At most 1000 query parameters or form fields.")


@pytest.mark.parametrize("path", ["/api/v1/merchant", "/api/v1/api_keys"])
def test_a_format_parameter_changes_nothing(merchant_client: APIClient, path: str) -> None:
    plain = merchant_client.get(path)

    response = merchant_client.get(f"{path}?format=api")

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == plain.json()


def test_the_schema_with_a_format_parameter_is_the_schema(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/schema/?format=api")

    assert response.status_code == 200
    assert b"openapi:" in response.content


def test_an_error_of_the_schema_view_is_json_not_yaml(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/schema/", HTTP_AUTHORIZATION="Bearer fc_test_not-a-key")

    body = assert_problem(response, status=401, code="invalid_api_key")
    assert response.content.startswith(b"{")
    assert body["instance"] == "/api/v1/schema/"


def test_an_error_of_the_docs_view_is_json_not_html(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/docs/", HTTP_AUTHORIZATION="Bearer fc_test_not-a-key")

    assert_problem(response, status=401, code="invalid_api_key")
    assert response.content.startswith(b"{")


@TEST_URLS
def test_permission_denied_outside_drf_is_a_problem(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/tests/forbidden-outside-drf")

    assert_problem(response, status=403, code="permission_denied")


@TEST_URLS
def test_a_failed_csrf_check_under_the_api_is_a_problem() -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/api/v1/tests/form-outside-drf", {"note": "hello"})

    assert_problem(response, status=403, code="permission_denied", detail="CSRF verification failed.")


@TEST_URLS
def test_a_body_over_djangos_limit_outside_drf_is_413(settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    client = Client()

    response = client.generic("POST", "/api/v1/tests/form-outside-drf", b"x" * 1_001, content_type="text/plain")

    body = assert_problem(response, status=413, code="request_too_large")
    assert body["max_bytes"] == 1_000


def test_a_failed_csrf_check_outside_the_api_is_djangos_page() -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post("/admin/login/", {"username": "x", "password": "y"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_a_transfer_encoding_django_cannot_read_is_411(merchant_client: APIClient) -> None:
    """What a server that does not decode chunked bodies (runserver) hands Django: refused, not {}."""
    response = merchant_client.post("/api/v1/accounts", data=b"", content_type="application/json",
                                    HTTP_TRANSFER_ENCODING="chunked")

    assert_problem(response, status=411, code="length_required")
