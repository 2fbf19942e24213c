"""The refusals of the routing app (each a stable problem code)."""

from apps.core.exceptions import FincoreError


class UnknownConnector(FincoreError):
    code = "unknown_connector"
    title = "There is no connector with this name"
    status = 404


class InvalidConnector(FincoreError):
    code = "invalid_connector"
    title = "The connector's settings are not valid"
    status = 400


class InvalidRoutingRule(FincoreError):
    code = "invalid_routing_rule"
    title = "The routing rule is not valid"
    status = 400


class ConnectorHealthUnavailable(FincoreError):
    code = "connector_health_unavailable"
    title = "Connector health (Redis) cannot be reached; nothing was changed"
    status = 503
    retry_after = 30
