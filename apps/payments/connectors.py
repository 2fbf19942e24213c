"""The payments app's edge to apps.routing: where a payment or a payout may go, and the one gateway every
connector call goes through (routing finds the adapter, calls it, maps what it raised, records
the connector's health).

The only place payments names routing's functions, so tests can put fakes in their place.
"""

from collections.abc import Collection
from typing import Any

from apps.routing import data as routing_data
from apps.routing import selectors as routing_selectors
from apps.routing import services as routing_services


def preview(*, description: routing_data.PaymentDescription) -> routing_data.RoutingDecision:
    """Where the payment could go by configuration alone (no health read, nothing claimed)."""
    return routing_selectors.route_preview(description)


def decide(*, description: routing_data.PaymentDescription, exclude: Collection[str] = ()
           ) -> routing_data.RoutingDecision:
    """Where the payment goes now, in the order to try (a half-open breaker's probe is taken)."""
    return routing_services.route(description=description, exclude=exclude)


def payout_decide(*, description: routing_data.PayoutDescription) -> routing_data.RoutingDecision:
    """Whether the payout goes by an instant rail connector (one candidate) or in the payment file."""
    return routing_services.payout_route(description=description)


def call(*, connector: str, operation: routing_data.Operation,
         description: routing_data.PaymentDescription | None = None, **arguments: Any) -> routing_data.ConnectorResult:
    """``operation`` at ``connector``, outside any transaction; ``description`` for an authorization."""
    return routing_services.connector_call(connector=connector, operation=operation, description=description,
                                           **arguments)
