"""Reads: connectors, their adapters and health, and the routing rules."""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.db import connection

from apps.routing import domain, health
from apps.routing.adapters import ErrorCodeMappedAdapter, SimulatorSettings, adapter_build
from apps.routing.data import ConnectorAdapter, Method, PaymentDescription, RoutingDecision
from apps.routing.domain import BreakerPolicy, BreakerState, ConnectorProfile, Rule, Strategy
from apps.routing.exceptions import UnknownConnector
from apps.routing.models import Connector, RoutingRule
from apps.routing.network import DatabaseNetwork

__all__ = [
    "ConnectorOverview",
    "ConnectorStatus",
    "UnknownConnector",
    "connector_adapter",
    "connector_configured",
    "connector_get",
    "connector_method",
    "connector_names",
    "connector_overview",
    "connector_statuses",
    "route_preview",
    "routing_setup",
]

# The exploration share of the fallback used when no rule matches (a rule sets its own).
DEFAULT_EXPLORATION_SHARE = Decimal("0.1")


def connector_get(name: str) -> Connector:
    """Raises UnknownConnector."""
    connector = Connector.objects.filter(name=name).first()
    if connector is None:
        raise UnknownConnector(f"There is no connector named {name!r}.")
    return connector


def connector_names() -> list[str]:
    return list(Connector.objects.order_by("name").values_list("name", flat=True))


def connector_adapter(name: str) -> ConnectorAdapter:
    """The adapter of connector ``name``, with its settings as they are now and its error-code
    map filling ``ConnectorResult.retryable``. Raises UnknownConnector.

    A disabled connector still has an adapter: the janitor must be able to ask it about
    operations made before it was disabled.
    """
    return connector_adapter_of(connector_get(name))


def connector_adapter_of(connector: Connector) -> ErrorCodeMappedAdapter:
    settings = SimulatorSettings(
        name=connector.name, latency_ms=connector.latency_ms, decline_rate=connector.decline_rate,
        timeout_rate=connector.timeout_rate, outage_rate=connector.outage_rate,
        confirm_after_seconds=connector.confirm_after_seconds,
    )
    return adapter_build(kind=connector.adapter, settings=settings, network=DatabaseNetwork(),
                         error_codes=connector.error_codes)


def connector_method(name: str) -> Method:
    """Which rail connector ``name`` is. Raises UnknownConnector."""
    method = Connector.objects.filter(name=name).values_list("method", flat=True).first()
    if method is None:
        raise UnknownConnector(f"There is no connector named {name!r}.")
    return Method(method)


def connector_profile(connector: Connector) -> ConnectorProfile:
    limits = {
        currency: (bounds.get("min"), bounds.get("max")) for currency, bounds in (connector.amount_limits or {}).items()
    }
    return ConnectorProfile(
        name=connector.name, method=Method(connector.method), currencies=frozenset(connector.currencies),
        countries=frozenset(connector.countries), amount_limits=limits, enabled=connector.enabled,
        livemode=connector.livemode,
    )


def breaker_policy(connector: Connector) -> BreakerPolicy:
    return BreakerPolicy(
        window_seconds=connector.breaker_window_seconds, min_samples=connector.breaker_min_samples,
        failure_ratio=connector.breaker_failure_ratio, open_seconds=connector.breaker_open_seconds,
    )


def rule_spec(rule: RoutingRule) -> Rule:
    return Rule(
        name=rule.name, connectors=tuple(rule.connectors), strategy=Strategy(rule.strategy),
        weights=tuple(rule.weights), exploration_share=rule.exploration_share, enabled=rule.enabled,
        methods=frozenset(rule.methods), currencies=frozenset(rule.currencies), countries=frozenset(rule.countries),
        merchant_ids=frozenset(rule.merchant_ids), min_amount=rule.min_amount, max_amount=rule.max_amount,
        metadata=dict(rule.metadata or {}), livemode=rule.livemode,
    )


def routing_rules() -> list[Rule]:
    """The enabled rules, in the order they are tried."""
    return [rule_spec(rule) for rule in RoutingRule.objects.filter(enabled=True).order_by("livemode", "position")]


@dataclass(frozen=True, slots=True)
class _Configuration:
    """The connectors (by name, never saved: read-only) and their profiles, and the enabled
    rules in the order they are tried, as of ``version``."""

    version: tuple[str, ...]
    connectors: dict[str, Connector]
    profiles: dict[str, ConnectorProfile]
    rules: list[Rule]


_configuration: _Configuration | None = None
# Every row version of both tables: xmin (the transaction that wrote it) and ctid (where it is)
# change with every INSERT and UPDATE, a DELETE removes one, a rolled-back write is never seen.
_VERSION_SQL = " UNION ALL ".join(
    f"SELECT md5(coalesce(string_agg(xmin::text || ctid::text, ',' ORDER BY ctid), '')) FROM {model._meta.db_table}"
    for model in (Connector, RoutingRule)
)


def _configuration_now() -> _Configuration:
    """The routing configuration as PostgreSQL has it now. Kept per process and read again only
    when a row of either table changed, whoever changed it (the admin, a command, raw SQL): a
    route costs one small query that compares the tables' row versions, not two that read and
    build every connector and rule."""
    global _configuration
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        version = (connection.settings_dict["NAME"], *(row[0] for row in cursor.fetchall()))
    known = _configuration
    if known is not None and known.version == version:
        return known
    connectors = {connector.name: connector for connector in Connector.objects.all()}
    known = _configuration = _Configuration(
        version=version, connectors=connectors,
        profiles={name: connector_profile(connector) for name, connector in connectors.items()},
        rules=routing_rules(),
    )
    return known


def connector_configured(name: str) -> Connector:
    """Connector ``name`` as the routing configuration has it now, for calling it (read-only:
    never saved). Raises UnknownConnector."""
    connector = _configuration_now().connectors.get(name)
    if connector is None:
        raise UnknownConnector(f"There is no connector named {name!r}.")
    return connector


def routing_setup(description: PaymentDescription) -> tuple[dict[str, Connector], dict[str, ConnectorProfile], Rule]:
    """The connectors (by name, read-only), their profiles and the rule that decides for
    ``description`` (the first matching rule of its mode, or the default one). One small query
    while the configuration is unchanged (``_configuration_now``)."""
    configuration = _configuration_now()
    rule = domain.rule_select(configuration.rules, description) or domain.default_rule(
        configuration.profiles.values(), description, DEFAULT_EXPLORATION_SHARE
    )
    return configuration.connectors, configuration.profiles, rule


def route_preview(description: PaymentDescription) -> RoutingDecision:
    """Where ``description`` could go by configuration alone (mode, rules, eligibility), as if
    every circuit were closed: no candidate means no connector can take such a payment now."""
    _, profiles, rule = routing_setup(description)
    return domain.decide(payment=description, rule=rule, connectors=profiles, health={})


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    """A connector's health as the admin shows it."""

    name: str
    breaker: BreakerState
    open_until_ms: int
    approved: int
    attempts: int
    success_rate: Decimal | None  # approvals / attempts in the scoring window; None without attempts


def connector_statuses(names: list[str]) -> dict[str, ConnectorStatus]:
    """Breaker state and recent success rate (all currencies) of each connector, one Redis round trip."""
    found = health.health_read(names)
    return {
        name: ConnectorStatus(
            name=name, breaker=state.breaker, open_until_ms=state.open_until_ms, approved=state.counts.approved,
            attempts=state.counts.attempts, success_rate=health.rate(state.counts),
        )
        for name, state in found.items()
    }


@dataclass(frozen=True, slots=True)
class ConnectorOverview:
    """A connector as the dashboard lists it: what it is, and its health now."""

    id: UUID
    name: str
    display_name: str
    method: str
    livemode: bool
    enabled: bool
    status: ConnectorStatus


def connector_overview() -> list[ConnectorOverview]:
    """Every connector, live ones first, with its breaker and recent success rate: one query and one
    Redis round trip."""
    connectors = list(Connector.objects.order_by("-livemode", "method", "name"))
    statuses = connector_statuses([connector.name for connector in connectors])
    return [
        ConnectorOverview(
            id=connector.id, name=connector.name, display_name=connector.display_name, method=connector.method,
            livemode=connector.livemode, enabled=connector.enabled, status=statuses[connector.name],
        )
        for connector in connectors
    ]
