"""The OpenAPI 3 description at /api/v1/schema/ and the browsable docs at /api/v1/docs/."""

import io
import re

import pytest
from django.core.management import call_command
from drf_spectacular.validation import validate_schema
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from apps.core import ids
from apps.core.api.fields import public_id_pattern
from apps.core.api.schema import PROBLEM_SCHEMA, AutoSchema
from apps.core.countries import countries
from apps.core.currencies import CURRENCIES

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
        ("/api/v1/payouts", "get"),
        ("/api/v1/payouts/{payout_id}", "get"),
        ("/api/v1/settlements", "get"),
        ("/api/v1/settlements/{settlement_id}", "get"),
        ("/api/v1/settlements/{settlement_id}/report.csv", "get"),
        ("/api/v1/fee_plan", "get"),
        ("/api/v1/fx_quotes", "post"),
        ("/api/v1/conversions", "get"),
        ("/api/v1/conversions", "post"),
        ("/api/v1/conversions/{conversion_id}", "get"),
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
    assert set(revoke["responses"]) == {"200", "400", "401", "403", "404", "409", "414", "422", "429", "500"}
    for status in ("400", "401", "403", "404", "409", "422", "429", "500"):
        assert revoke["responses"][status]["content"] == PROBLEM_CONTENT
    # The one error not fincore's own: gunicorn's, for a URL longer than its request line.
    assert revoke["responses"]["414"]["content"] == {"text/html": {"schema": {"type": "string"}}}
    merchant = schema["paths"]["/api/v1/merchant"]["get"]
    assert set(merchant["responses"]) == {"200", "400", "401", "403", "414", "429", "500"}
    catalogue = schema["paths"]["/api/v1/problems"]["get"]
    assert set(catalogue["responses"]) == {"200", "400", "414", "500"}


def test_the_idempotency_key_header_is_on_posts_only(schema):
    revoke = schema["paths"]["/api/v1/api_keys/{api_key_id}/revoke"]["post"]
    headers = [parameter for parameter in revoke["parameters"] if parameter["in"] == "header"]
    assert headers == [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]*[!-~][ -~]*$"},
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


# --- the schema says what the server checks (each found by schemathesis, tests/contract) --------


def _request(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def test_a_payment_is_captured_null_before_capture(schema):
    assert schema["components"]["schemas"]["Payment"]["properties"]["captured"]["nullable"] is True


def test_a_refund_for_a_payment_not_there_is_a_documented_404(schema):
    refund = schema["paths"]["/api/v1/refunds"]["post"]

    assert refund["responses"]["404"]["content"] == PROBLEM_CONTENT


def test_deleting_a_webhook_endpoint_answers_200_with_it(schema):
    deleted = schema["paths"]["/api/v1/webhook_endpoints/{endpoint_id}"]["delete"]["responses"]

    assert deleted["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WebhookEndpoint"}
    assert "204" not in deleted


def test_currencies_and_countries_are_the_iso_lists(schema):
    components = schema["components"]["schemas"]

    assert components["CurrencyCode"]["enum"] == list(CURRENCIES)
    assert components["CountryCode"]["enum"] == sorted(countries())
    for name in ("AccountCreateRequest", "TransferCreateRequest"):
        assert components[name]["properties"]["currency"]["allOf"] == [{"$ref": "#/components/schemas/CurrencyCode"}]
    assert components["PaymentCreateRequest"]["properties"]["country"]["allOf"] == [
        {"$ref": "#/components/schemas/CountryCode"}]
    listing = schema["paths"]["/api/v1/payments"]["get"]["parameters"]
    currency = next(parameter for parameter in listing if parameter["name"] == "currency")
    assert currency["schema"]["allOf"] == [{"$ref": "#/components/schemas/CurrencyCode"}]


def test_ids_have_the_pattern_the_server_decodes(schema):
    transfer = _request(schema, "TransferCreateRequest")

    assert transfer["properties"]["debit_account"]["pattern"] == "^acc_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"
    refund = _request(schema, "RefundCreateRequest")
    assert refund["properties"]["payment"]["pattern"] == "^pay_[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"


@given(st.uuids())
def test_every_id_matches_the_pattern(value):
    assert re.fullmatch(public_id_pattern("acc"), ids.encode("acc", value))


@given(st.from_regex(public_id_pattern("pay"), fullmatch=True))
def test_every_string_of_the_pattern_is_an_id(public_id):
    assert ids.decode("pay", public_id) is not None


def test_metadata_is_an_object_never_null(schema):
    metadata = _request(schema, "AccountCreateRequest")["properties"]["metadata"]

    assert (metadata["type"], metadata["maxProperties"]) == ("object", 50)
    assert "nullable" not in metadata
    flat = _request(schema, "PaymentCreateRequest")["properties"]["metadata"]
    assert [value.get("type") for value in flat["additionalProperties"]["oneOf"]] == ["string", "integer", "boolean"]


def test_each_payment_method_has_its_own_fields(schema):
    components = schema["components"]["schemas"]

    assert {name: (components[name]["required"], components[name]["additionalProperties"])
            for name in ("CardPaymentMethod", "InstantPaymentMethod", "WirePaymentMethod", "WalletPaymentMethod")} == {
        "CardPaymentMethod": (["type", "token"], False),
        "InstantPaymentMethod": (["type", "iban"], False),
        "WirePaymentMethod": (["type", "iban", "bic"], False),
        "WalletPaymentMethod": (["type", "account"], False),
    }


def test_manual_capture_is_for_cards_and_wallets_only(schema):
    payment = _request(schema, "PaymentCreateRequest")
    later, at_once = payment["oneOf"]

    def methods(shape: dict) -> list[str]:
        return sorted(shape["properties"]["payment_method"]["discriminator"]["mapping"])

    assert (methods(later), "capture_method" in later["properties"]) == (["card", "wallet"], False)
    assert methods(at_once) == ["instant", "wire"]
    assert at_once["properties"]["capture_method"]["allOf"] == [
        {"$ref": "#/components/schemas/AutomaticCaptureMethodEnum"}]
    assert schema["components"]["schemas"]["AutomaticCaptureMethodEnum"]["enum"] == ["automatic"]
    assert payment["required"] == ["amount", "country", "currency", "payment_method"]


def test_only_a_pending_transfer_takes_a_timeout(schema):
    transfer = _request(schema, "TransferCreateRequest")
    immediate, pending = transfer["oneOf"]

    assert transfer["properties"]["timeout"]["maximum"] == 30 * 24 * 3600
    assert immediate["properties"]["timeout"]["allOf"] == [{"enum": [None]}]
    assert immediate["properties"]["pending"]["not"] == {"enum": [True]}
    assert (pending["required"], pending["properties"]["pending"]["not"]) == (["pending"], {"enum": [False]})


def test_a_batch_holds_1_to_1000_transfers(schema):
    transfers = _request(schema, "TransferBatchRequest")["properties"]["transfers"]

    assert (transfers["minItems"], transfers["maxItems"]) == (1, 1000)


def test_a_body_that_must_have_fields_is_required(schema):
    for path in ("/api/v1/accounts", "/api/v1/transfers", "/api/v1/payments",
                 "/api/v1/webhook_endpoints/{endpoint_id}"):
        assert schema["paths"][path]["post"]["requestBody"]["required"] is True, path
    assert "required" not in schema["paths"]["/api/v1/transfers/{transfer_id}/post"]["post"]["requestBody"]


def test_page_sizes_and_cursors_are_described(schema):
    listing = schema["paths"]["/api/v1/payments"]["get"]
    parameters = {parameter["name"]: parameter for parameter in listing["parameters"]}

    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}
    assert parameters["cursor"]["schema"] == {"type": "string"}


@pytest.mark.parametrize("field", [
    serializers.CharField(),
    serializers.CharField(allow_blank=True),
    serializers.CharField(trim_whitespace=False),
], ids=["not-blank", "blank-allowed", "untrimmed"])
@given(text=st.text(max_size=6))
def test_a_text_fields_pattern_accepts_what_drf_accepts(field, text):
    """The pattern the schema gives a text field (apps.core.api.schema) and DRF's own checks agree."""
    schema = AutoSchema()._map_serializer_field(field, "request")
    # The patterns' \uXXXX and \xXX escapes read the same in Python's re as in JSON Schema.
    allowed_by_schema = re.search(schema["pattern"], text) is not None
    if field.allow_blank and text == "":
        allowed_by_schema = True  # drf-spectacular's oneOf branch of its own for ""
    try:
        field.run_validation(text)
        allowed_by_drf = True
    except serializers.ValidationError:
        allowed_by_drf = False

    assert allowed_by_schema == allowed_by_drf
