"""Routing fixtures: payment descriptions and connector tweaks, on the seeded sandbox set-up."""

import uuid
from decimal import Decimal

import pytest

from apps.core.actors import Actor
from apps.routing import services
from apps.routing.data import Method, PaymentDescription

ACTOR = Actor.system("tests.routing")


def describe(*, method: Method = Method.CARD, amount: int = 12_500, currency: str = "BHD", country: str = "BH",
             merchant_id: uuid.UUID | None = None, metadata: dict | None = None,
             payment_id: uuid.UUID | None = None, livemode: bool = False) -> PaymentDescription:
    return PaymentDescription(
        payment_id=payment_id or uuid.uuid4(), merchant_id=merchant_id, amount=amount, currency=currency,
        method=method, country=country, livemode=livemode, metadata=metadata or {},
    )


def configure(name: str, **changes: object) -> None:
    services.connector_update(name=name, changes=changes, actor=ACTOR, reason="test set-up")


@pytest.fixture
def no_exploration(db):
    """The cards rule without exploration, so the ranking alone decides."""
    from apps.routing.models import RoutingRule

    rule = RoutingRule.objects.get(name="cards")
    services.routing_rule_update(rule_id=rule.pk, changes={"exploration_share": Decimal(0)}, actor=ACTOR,
                                 reason="test set-up")
