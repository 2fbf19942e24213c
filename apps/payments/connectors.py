"""The payments app's edge to apps.routing: which connectors to try, the adapter that calls
one, and the report of each answer (the success-rate window and the circuit breaker).

The only place payments names routing's functions, so tests can put fakes in their place.
"""

import logging
from collections.abc import Collection

from apps.routing import data as routing_data
from apps.routing import selectors as routing_selectors
from apps.routing import services as routing_services

logger = logging.getLogger(__name__)


def decide(*, description: routing_data.PaymentDescription, exclude: Collection[str] = ()
           ) -> routing_data.RoutingDecision:
    return routing_services.route(description=description, exclude=exclude)


def adapter(name: str) -> routing_data.ConnectorAdapter:
    """Raises routing's UnknownConnector."""
    return routing_selectors.connector_adapter(name)


def report(*, connector: str, description: routing_data.PaymentDescription,
           result: routing_data.ConnectorResult) -> None:
    """Tell routing how the connector answered. Never fails the payment: routing's health data
    is worth less than recording the payment's outcome."""
    try:
        routing_services.connector_result_record(connector=connector, description=description, result=result)
    except Exception:  # a Redis or configuration hiccup must not lose the connector's answer
        logger.exception("connector result not reported to routing", extra={"connector": connector})
