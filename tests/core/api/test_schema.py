"""The OpenAPI 3 description at /api/v1/schema/ and the browsable docs at /api/v1/docs/."""

import io

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

from apps.core.api.schema import PROBLEM_SCHEMA

pytestmark = pytest.mark.django_db

PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
def schema(api_client) -> dict:
    response = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)  # raises jsonschema.ValidationError if not


def test_the_schema_generates_without_a_single_warning():
    output = io.StringIO()

    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=output)

    assert '"openapi"' in output.getvalue()


def test_every_endpoint_is_described(schema):
    operations = {
        (path, method): operation for path, methods in schema["paths"].items() for method, operation in methods.items()
    }

    assert set(operations) == {
        ("/api/v1/merchant", "get"),
        ("/api/v1/api_keys", "get"),
        ("/api/v1/api_keys/{api_key_id}", "get"),
        ("/api/v1/api_keys/{api_key_id}/revoke", "post"),
        ("/api/v1/problems", "get"),
        ("/api/v1/problems/{code}", "get"),
        ("/api/v1/accounts", "get"),
        ("/api/v1/accounts", "post"),
        ("/api/v1/accounts/{account_id}", "get"),
        ("/api/v1/accounts/{account_id}/balance", "get"),
        ("/api/v1/accounts/{account_id}/statement", "get"),
        ("/api/v1/transfers", "get"),
        ("/api/v1/transfers", "post"),
        ("/api/v1/transfers/batch", "post"),
        ("/api/v1/transfers/{transfer_id}", "get"),
        ("/api/v1/transfers/{transfer_id}/post", "post"),
        ("/api/v1/transfers/{transfer_id}/void", "post"),
        ("/api/v1/transfers/{transfer_id}/reverse", "post"),
        ("/api/v1/webhook_endpoints", "get"),
        ("/api/v1/webhook_endpoints", "post"),
        ("/api/v1/webhook_endpoints/{endpoint_id}", "get"),
        ("/api/v1/webhook_endpoints/{endpoint_id}", "post"),
        ("/api/v1/webhook_endpoints/{endpoint_id}", "delete"),
        ("/api/v1/webhook_endpoints/{endpoint_id}/rotate_secret", "post"),
        ("/api/v1/event_types", "get"),
        ("/api/v1/events", "get"),
        ("/api/v1/events/{event_id}", "get"),
        ("/api/v1/events/{event_id}/redeliver", "post"),
        ("/api/v1/payments", "get"),
        ("/api/v1/payments", "post"),
        ("/api/v1/payments/{payment_id}", "get"),
        ("/api/v1/payments/{payment_id}/capture", "post"),
        ("/api/v1/payments/{payment_id}/cancel", "post"),
        ("/api/v1/refunds", "get"),
        ("/api/v1/refunds", "post"),
        ("/api/v1/refunds/{refund_id}", "get"),
        ("/api/v1/balance", "get"),
    }
    for operation in operations.values():
        assert operation["description"]
        assert "Idempotency-Key" not in operation["description"]  # no plumbing docstring leaking


def test_the_bearer_scheme_secures_the_merchant_endpoints(schema):
    assert schema["components"]["securitySchemes"]["ApiKey"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/merchant"]["get"]["security"] == [{"ApiKey": []}]
    assert schema["paths"]["/api/v1/api_keys/{api_key_id}/revoke"]["post"]["security"] == [{"ApiKey": []}]
    # The problem catalogue is public.
    assert schema["paths"]["/api/v1/problems/{code}"]["get"]["security"] == [{}]


def test_errors_are_described_as_problems(schema):
    assert schema["components"]["schemas"]["Problem"] == PROBLEM_SCHEMA
    revoke = schema["paths"]["/api/v1/api_keys/{api_key_id}/revoke"]["post"]
    assert set(revoke["responses"]) == {"200", "400", "401", "403", "404", "409", "422", "429", "500"}
    for status in ("400", "401", "403", "404", "409", "422", "429", "500"):
        assert revoke["responses"][status]["content"] == PROBLEM_CONTENT
    merchant = schema["paths"]["/api/v1/merchant"]["get"]
    assert set(merchant["responses"]) == {"200", "400", "401", "403", "429", "500"}
    catalogue = schema["paths"]["/api/v1/problems"]["get"]
    assert set(catalogue["responses"]) == {"200", "400", "500"}


def test_the_idempotency_key_header_is_on_posts_only(schema):
    revoke = schema["paths"]["/api/v1/api_keys/{api_key_id}/revoke"]["post"]
    headers = [parameter for parameter in revoke["parameters"] if parameter["in"] == "header"]
    assert headers == [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": headers[0]["description"],
        }
    ]
    assert "24 hours" in headers[0]["description"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method != "post":
                names = [parameter["name"] for parameter in operation.get("parameters", [])]
                assert "Idempotency-Key" not in names, (path, method)


def test_the_key_list_is_described_as_a_cursor_page(schema):
    listing = schema["paths"]["/api/v1/api_keys"]["get"]

    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginatedApiKeyList"
    }
    page = schema["components"]["schemas"]["PaginatedApiKeyList"]
    assert set(page["properties"]) == {"results", "next", "previous"}
    assert page["properties"]["results"]["items"] == {"$ref": "#/components/schemas/ApiKey"}
    assert {parameter["name"] for parameter in listing["parameters"]} == {"cursor", "limit"}


def test_the_docs_page_renders_swagger_ui_on_the_schema(api_client):
    response = api_client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "/api/v1/schema/" in page
