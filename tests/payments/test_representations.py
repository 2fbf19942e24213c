"""What merchants receive about a payment or a refund, by the API and by webhook, is one
rendering (apps.payments.representations), and it is what the OpenAPI schema says it is."""

from typing import Any

import jsonschema
import pytest

from apps.core import ids
from apps.events.webhooks.models import WebhookEvent
from apps.payments import services
from apps.payments.models import Payment
from apps.payments.representations import payment_representation, refund_representation
from tests.factories.merchants import FACTORY_ACTOR
from tests.payments.conftest import UNKNOWN, create_payment, declined, processed

pytestmark = pytest.mark.django_db


def _nullable_as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema's ``null`` alternative."""
    if isinstance(node, list):
        return [_nullable_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_as_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def components(django_db_blocker) -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return _nullable_as_json_schema(schema["components"])


def _conforms(instance: dict[str, Any], component: str, components: dict[str, Any]) -> None:
    jsonschema.validate(instance, {"$ref": f"#/components/schemas/{component}", "components": components})


def _payments_in_every_state(merchant, routing) -> list[Payment]:
    routing["alpha"].answer("authorize", declined())
    failed = processed(merchant)
    routing["alpha"].answer("authorize", UNKNOWN)
    in_flight = processed(merchant)
    succeeded = processed(merchant, metadata={"order": "A-1", "gift": True})
    services.payment_refund(payment_id=succeeded.pk, amount=500, actor=FACTORY_ACTOR)
    awaiting = processed(merchant, capture_method="manual")
    return [create_payment(merchant), failed, in_flight, succeeded, awaiting]


def test_payments_in_every_state_conform_to_the_schema(merchant, routing, components):
    for payment in _payments_in_every_state(merchant, routing):
        payment.refresh_from_db()
        _conforms(payment_representation(payment), "Payment", components)
    [succeeded] = Payment.objects.filter(status="succeeded")
    for refund in succeeded.refunds.all():
        _conforms(refund_representation(refund), "Refund", components)


def test_a_webhook_carries_exactly_what_the_api_returns(merchant, merchant_client, routing):
    payment = processed(merchant)
    public_id = ids.encode("pay", payment.pk)

    shown = merchant_client.get(f"/api/v1/payments/{public_id}").json()

    [event] = [event for event in WebhookEvent.objects.filter(type="payment.succeeded")
               if event.data["object"]["id"] == public_id]
    assert event.data["object"] == shown
    assert shown["captured"] is not None
    assert shown["attempts"][0]["routing"]["scores"] == {"alpha": "0.9000", "beta": "0.9000"}
