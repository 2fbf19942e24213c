"""Routing: where a payment goes, what its attempts taught us, and the audited changes staff
make to connectors and rules."""

import dataclasses
import logging
from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction

from apps.audit.services import audit_record
from apps.core.actors import Actor
from apps.core.countries import is_country
from apps.core.currencies import is_currency
from apps.routing import domain, health, selectors
from apps.routing.data import (
    ConnectorResult,
    Method,
    Operation,
    Outcome,
    PaymentDescription,
    PayoutDescription,
    RoutingDecision,
)
from apps.routing.exceptions import InvalidConnector, InvalidRoutingRule, UnknownConnector
from apps.routing.models import Connector, RoutingRule

__all__ = [
    "InvalidConnector",
    "InvalidRoutingRule",
    "UnknownConnector",
    "breaker_reset",
    "connector_call",
    "connector_create",
    "connector_result_record",
    "connector_update",
    "connector_validate",
    "payout_route",
    "route",
    "routing_rule_create",
    "routing_rule_update",
    "routing_rule_validate",
]

logger = logging.getLogger(__name__)


# The rail each simulator is.
ADAPTER_METHODS = {
    Connector.Adapter.CARD_ACQUIRER: Method.CARD,
    Connector.Adapter.INSTANT_RAIL: Method.INSTANT,
    Connector.Adapter.WIRE: Method.WIRE,
    Connector.Adapter.WALLET: Method.WALLET,
}
CONNECTOR_EDITABLE = (
    "display_name", "enabled", "currencies", "countries", "amount_limits", "error_codes", "breaker_window_seconds",
    "breaker_min_samples", "breaker_failure_ratio", "breaker_open_seconds", "latency_ms", "decline_rate",
    "timeout_rate", "outage_rate", "confirm_after_seconds",
)
# A connector's name, rail and mode are fixed: attempts, clearing accounts and health refer to them.
CONNECTOR_FIELDS = ("name", "adapter", "method", "livemode", *CONNECTOR_EDITABLE)
# The simulators that invent an external rail's answers; they serve test payments only.
SIMULATED_RAILS = (Connector.Adapter.CARD_ACQUIRER, Connector.Adapter.INSTANT_RAIL, Connector.Adapter.WIRE)
SIMULATION_SETTINGS = ("latency_ms", "decline_rate", "timeout_rate", "outage_rate")
RULE_FIELDS = (
    "name", "livemode", "position", "enabled", "description", "methods", "currencies", "countries", "merchant_ids",
    "min_amount", "max_amount", "metadata", "strategy", "connectors", "weights", "exploration_share",
)
MAX_LATENCY_MS = 120_000


# --- routing --------------------------------------------------------------------------------


def route(
    *, description: PaymentDescription, exclude: Collection[str] = (), claim_probes: bool = True
) -> RoutingDecision:
    """Where ``description`` goes: candidates in the order to try (possibly none, then
    ``reason`` says why), with the rule, scores and exclusions behind the choice.

    Reads the connectors and rules (two queries) and their health (one Redis round trip). The
    same payment id gets the same split and exploration draw every time. ``exclude`` names
    connectors already tried. A half-open breaker admits one probe payment at a time: with
    ``claim_probes`` (routing for real) this call takes the probe; the admin's dry-run passes
    False and changes nothing.
    """
    connectors, profiles, rule = selectors.routing_setup(description)
    known = [name for name in dict.fromkeys(rule.connectors) if name in connectors]
    window = health.dimension(method=description.method, currency=description.currency)
    states = health.health_read(known, dimension_of=dict.fromkeys(known, window))
    admissions: dict[str, domain.Health] = {}
    for name in known:
        state = states[name]
        admission = domain.Admission.CLOSED
        if state.breaker == domain.BreakerState.OPEN:
            admission = domain.Admission.OPEN
        elif state.breaker == domain.BreakerState.HALF_OPEN:
            routable = name not in exclude and domain.ineligibility(profiles[name], description) is None
            if routable and claim_probes and not health.probe_claim(
                name, open_seconds=connectors[name].breaker_open_seconds
            ):
                admission = domain.Admission.PROBE_BUSY
            else:
                admission = domain.Admission.PROBE
        admissions[name] = domain.Health(admission=admission, score=domain.success_rate(state.counts))
    return domain.decide(payment=description, rule=rule, connectors=profiles, health=admissions, exclude=exclude)


def payout_route(*, description: PayoutDescription) -> RoutingDecision:
    """Whether a payout goes by an instant rail connector (the one candidate) or in the payment
    file (no candidate, ``reason`` says why): the rail for an amount at or below the currency's
    instant payout limit (``FINCORE_INSTANT_PAYOUT_LIMITS``), when an instant connector of the
    payout's mode is eligible and its breaker closed. One query and one Redis round trip; claims
    no probe. Redis down reads as closed breakers, as for payments."""
    profiles = {connector.name: selectors.connector_profile(connector)
                for connector in Connector.objects.filter(method=Method.INSTANT)}
    window = health.dimension(method=Method.INSTANT, currency=description.currency)
    states = health.health_read(profiles, dimension_of=dict.fromkeys(profiles, window))
    return domain.payout_decide(
        payout=description, limit=settings.FINCORE_INSTANT_PAYOUT_LIMITS.get(description.currency),
        connectors=profiles, breakers={name: state.breaker for name, state in states.items()},
    )


def connector_result_record(*, connector: str, description: PaymentDescription, result: ConnectorResult) -> None:
    """Feed one attempt's result to the connector's success-rate window (per method and
    currency) and its circuit breaker.

    APPROVED counts as a success for both; DECLINED lowers the success rate but is no failure
    of the connector (the breaker counts it as a success); ERROR and UNKNOWN are failures for
    both. PENDING is not an answer yet and is not counted. Best effort: Redis being down only
    logs a warning. Raises UnknownConnector.
    """
    _health_record(selectors.connector_configured(connector), description, result)


def _health_record(connector: Connector, description: PaymentDescription, result: ConnectorResult) -> None:
    health.result_record(
        connector=connector.name, method=description.method, currency=description.currency, outcome=result.outcome,
        policy=selectors.breaker_policy(connector),
    )


def connector_call(
    *, connector: str, operation: Operation, description: PaymentDescription | None = None, **arguments: Any
) -> ConnectorResult:
    """The one way to a connector: find its adapter, call ``operation`` with ``arguments``, turn
    what the call raised into an outcome and, for an authorization (``description`` given), feed
    the answer to the connector's health. Never called inside a database transaction.

    A connector that is not configured is a technical ERROR (nothing was sent; retryable, so the
    payment fails over). Anything the call itself raises may have happened after the request
    left: the outcome is UNKNOWN, to be asked for, never assumed. An inquiry's ``not_received``
    answer carries ``resend_safe`` when the rail deduplicates by our idempotency key. A payout's
    answer feeds the connector's health too. A database
    outage while the adapter is looked up propagates: nothing was sent, the caller retries.
    """
    try:
        found = selectors.connector_configured(connector)
    except UnknownConnector as unknown:
        logger.error("connector not configured", extra={"connector": connector, "operation": operation.value})
        return ConnectorResult(Outcome.ERROR, error_code="connector_not_configured", message=unknown.detail[:500],
                               retryable=True)
    adapter = selectors.connector_adapter_of(found)
    try:
        result = getattr(adapter, operation.value)(**arguments)
    except Exception as error:  # the request may have reached the connector
        logger.exception("connector call raised", extra={"connector": connector, "operation": operation.value})
        result = ConnectorResult(Outcome.UNKNOWN, error_code="call_raised",
                                 message=f"the {operation.value} call raised {error!r}"[:500])
    if result.not_received and adapter.resends_safely:
        result = dataclasses.replace(result, resend_safe=True)
    if operation == Operation.AUTHORIZE and description is not None:
        _health_record(found, description, result)
    elif operation == Operation.PAYOUT:
        # A payout's answer tells the rail's health as an authorization's does: its breaker
        # decides whether the next payouts go by the rail.
        health.result_record(connector=found.name, method=found.method, currency=arguments["currency"],
                             outcome=result.outcome, policy=selectors.breaker_policy(found))
    return result


def breaker_reset(*, name: str, actor: Actor, reason: str) -> None:
    """Close a connector's circuit breaker and forget its failure window. Raises UnknownConnector."""
    connector = selectors.connector_get(name)
    before = selectors.connector_statuses([name])[name].breaker
    health.breaker_reset(name)
    with transaction.atomic():
        audit_record(
            actor=actor, action="connector.breaker_reset", object_type="routing.connector",
            object_id=str(connector.pk), before={"breaker": before.value}, after={"breaker": "closed"},
            reason=reason,
        )


# --- connectors ---------------------------------------------------------------------------


def _decimal_share(value: Any, label: str, problems: list[str]) -> None:
    try:
        share = Decimal(str(value))
    except (InvalidOperation, ValueError):
        problems.append(f"{label} must be a number from 0 to 1")
        return
    if not (Decimal(0) <= share <= Decimal(1)) or share != share.quantize(Decimal("0.0001")):
        problems.append(f"{label} must be from 0 to 1 with at most 4 decimals, not {value}")


def _codes(values: Any, check: Any, what: str, problems: list[str]) -> None:
    values = list(values or [])
    problems += [f"{code!r} is not an {what} code" for code in values if not check(code)]
    if len(set(values)) != len(values):
        problems.append(f"an {what} code is listed twice")


def _whole(value: Any, label: str, problems: list[str], *, minimum: int = 0, maximum: int | None = None) -> None:
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or value < minimum or (maximum is not None and value > maximum):
        bound = f" and at most {maximum}" if maximum is not None else ""
        problems.append(f"{label} must be a whole number of at least {minimum}{bound}, not {value!r}")


def connector_validate(fields: Mapping[str, Any]) -> None:
    """Raise InvalidConnector naming every problem with these (complete) connector settings."""
    problems: list[str] = []
    adapter, method = fields.get("adapter"), fields.get("method")
    if adapter not in ADAPTER_METHODS:
        problems.append(f"{adapter!r} is not a simulator kind")
    elif ADAPTER_METHODS[adapter] != method:
        problems.append(f"a {adapter} connector is a {ADAPTER_METHODS[adapter]} connector, not {method}")
    if fields.get("livemode"):
        if adapter in SIMULATED_RAILS:
            problems.append(f"a {adapter} simulator serves test payments only: it never moves live money")
        problems += [
            f"a live connector simulates nothing: {setting.replace('_', ' ')} must be 0"
            for setting in SIMULATION_SETTINGS if fields.get(setting)
        ]
    currencies = list(fields.get("currencies") or [])
    if not currencies:
        problems.append("at least one currency is needed")
    _codes(currencies, is_currency, "ISO 4217 currency", problems)
    _codes(fields.get("countries"), is_country, "ISO 3166 country", problems)
    limits = fields.get("amount_limits") or {}
    if not isinstance(limits, dict):
        problems.append('amount limits must be an object like {"BHD": {"min": 100, "max": 1000000}}')
        limits = {}
    for currency, bounds in limits.items():
        if currency not in currencies:
            problems.append(f"amount limits name {currency}, which the connector does not take")
        if not isinstance(bounds, dict) or set(bounds) - {"min", "max"}:
            problems.append(f'amount limits of {currency} must be like {{"min": 100, "max": 1000000}}')
            continue
        for bound in ("min", "max"):
            if bounds.get(bound) is not None:
                _whole(bounds[bound], f"the {bound} amount of {currency}", problems)
        low, high = bounds.get("min"), bounds.get("max")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(f"the min amount of {currency} is above its max")
    error_codes = fields.get("error_codes") or {}
    if not isinstance(error_codes, dict):
        problems.append('the error-code map must be an object like {"do_not_honor": "hard"}')
    else:
        classes = {member.value for member in domain.ErrorClass}
        problems += [
            f"error code {code!r} must map to 'retryable' or 'hard', not {value!r}"
            for code, value in error_codes.items() if value not in classes or not str(code).strip()
        ]
    for share in ("decline_rate", "timeout_rate", "outage_rate", "breaker_failure_ratio"):
        _decimal_share(fields.get(share, 0), share.replace("_", " "), problems)
    _whole(fields.get("latency_ms", 0), "latency_ms", problems, maximum=MAX_LATENCY_MS)
    _whole(fields.get("confirm_after_seconds", 0), "confirm_after_seconds", problems)
    for positive in ("breaker_window_seconds", "breaker_min_samples", "breaker_open_seconds"):
        _whole(fields.get(positive, 1), positive.replace("_", " "), problems, minimum=1)
    if problems:
        raise InvalidConnector("; ".join(problems))


def _snapshot(instance: Connector | RoutingRule, names: tuple[str, ...]) -> dict[str, Any]:
    snapshot = {}
    for name in names:
        value = getattr(instance, name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, list):
            value = [str(item) if isinstance(item, UUID) else item for item in value]
        snapshot[name] = value
    return snapshot


def connector_create(*, fields: Mapping[str, Any], actor: Actor, reason: str) -> Connector:
    """A new connector account. Raises InvalidConnector."""
    unknown = set(fields) - set(CONNECTOR_FIELDS)
    if unknown:
        raise InvalidConnector(f"unknown fields: {', '.join(sorted(unknown))}")
    defaults = {field.name: field.get_default() for field in Connector._meta.fields if field.name in CONNECTOR_FIELDS}
    connector_validate({**defaults, **fields})
    with transaction.atomic():
        connector = Connector.objects.create(**fields)
        connector.refresh_from_db()
        audit_record(
            actor=actor, action="connector.created", object_type="routing.connector", object_id=str(connector.pk),
            after=_snapshot(connector, CONNECTOR_FIELDS), reason=reason,
        )
    return connector


def connector_update(*, name: str, changes: Mapping[str, Any], actor: Actor, reason: str) -> Connector:
    """Change a connector's eligibility, error-code map, breaker or simulator settings (its name,
    simulator and method are fixed). Takes effect for the next payment routed. Raises
    UnknownConnector, InvalidConnector."""
    unknown = set(changes) - set(CONNECTOR_EDITABLE)
    if unknown:
        raise InvalidConnector(f"these fields cannot be changed: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        connector = Connector.objects.select_for_update().filter(name=name).first()
        if connector is None:
            raise UnknownConnector(f"There is no connector named {name!r}.")
        before = _snapshot(connector, CONNECTOR_FIELDS)
        connector_validate({**{field: getattr(connector, field) for field in CONNECTOR_FIELDS}, **changes})
        for field, value in changes.items():
            setattr(connector, field, value)
        connector.save()
        connector.refresh_from_db()
        after = _snapshot(connector, CONNECTOR_FIELDS)
        changed = [field for field in CONNECTOR_FIELDS if before[field] != after[field]]
        if changed:
            audit_record(
                actor=actor, action="connector.updated", object_type="routing.connector", object_id=str(connector.pk),
                before={f: before[f] for f in changed}, after={f: after[f] for f in changed}, reason=reason,
            )
    return connector


# --- routing rules ------------------------------------------------------------------------


def routing_rule_validate(fields: Mapping[str, Any]) -> None:
    """Raise InvalidRoutingRule naming every problem with these (complete) rule settings."""
    connectors = {name: (method, livemode) for name, method, livemode
                  in Connector.objects.values_list("name", "method", "livemode")}
    problems: list[str] = []
    names = list(fields.get("connectors") or [])
    if not names:
        problems.append("name at least one connector")
    problems += [f"there is no connector named {name!r}" for name in names if name not in connectors]
    if len(set(names)) != len(names):
        problems.append("a connector is listed twice")
    livemode = bool(fields.get("livemode"))
    problems += [
        f"{name} serves {domain.mode_label(connectors[name][1])} payments, and this is a "
        f"{domain.mode_label(livemode)} rule"
        for name in names if name in connectors and connectors[name][1] != livemode
    ]
    methods = list(fields.get("methods") or [])
    problems += [f"{method!r} is not a payment method" for method in methods if method not in set(Method)]
    if methods:
        problems += [
            f"{name} is a {connectors[name][0]} connector, which this rule's methods never route to"
            for name in names if name in connectors and connectors[name][0] not in methods
        ]
    _codes(fields.get("currencies"), is_currency, "ISO 4217 currency", problems)
    _codes(fields.get("countries"), is_country, "ISO 3166 country", problems)
    low, high = fields.get("min_amount"), fields.get("max_amount")
    for label, bound in (("min amount", low), ("max amount", high)):
        if bound is not None:
            _whole(bound, f"the {label}", problems)
    if low is not None or high is not None:
        if len(fields.get("currencies") or []) != 1:
            problems.append("an amount range needs exactly one currency: amounts are in its minor units")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append("the min amount is above the max amount")
    metadata = fields.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str | int | bool) and not isinstance(value, float) for value in metadata.values()
    ):
        problems.append(
            'metadata must be an object of keys to text, whole-number or true/false values: {"channel": "pos"}'
        )
    strategy = fields.get("strategy")
    weights = list(fields.get("weights") or [])
    if strategy not in set(domain.Strategy):
        problems.append(f"{strategy!r} is not a strategy")
    elif strategy == domain.Strategy.VOLUME_SPLIT:
        if len(weights) != len(names):
            problems.append(f"a volume split needs one weight per connector ({len(names)}), not {len(weights)}")
        elif any(not isinstance(w, int) or w < 0 for w in weights) or sum(weights) <= 0:
            problems.append("weights must be whole numbers of at least 0, not all 0")
    elif weights:
        problems.append("weights are for a volume split only")
    _decimal_share(fields.get("exploration_share", 0), "the exploration share", problems)
    if problems:
        raise InvalidRoutingRule("; ".join(problems))


def routing_rule_create(*, fields: Mapping[str, Any], actor: Actor, reason: str) -> RoutingRule:
    """A new rule. Raises InvalidRoutingRule."""
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise InvalidRoutingRule(f"unknown fields: {', '.join(sorted(unknown))}")
    defaults = {field.name: field.get_default() for field in RoutingRule._meta.fields if field.name in RULE_FIELDS}
    routing_rule_validate({**defaults, **fields})
    with transaction.atomic():
        rule = RoutingRule.objects.create(**fields)
        rule.refresh_from_db()
        audit_record(
            actor=actor, action="routing_rule.created", object_type="routing.routingrule", object_id=str(rule.pk),
            after=_snapshot(rule, RULE_FIELDS), reason=reason,
        )
    return rule


def routing_rule_update(*, rule_id: UUID, changes: Mapping[str, Any], actor: Actor, reason: str) -> RoutingRule:
    """Change a rule (disable it instead of deleting it). Raises RoutingRule.DoesNotExist, InvalidRoutingRule."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise InvalidRoutingRule(f"unknown fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        rule = RoutingRule.objects.select_for_update().get(pk=rule_id)
        before = _snapshot(rule, RULE_FIELDS)
        routing_rule_validate({**{field: getattr(rule, field) for field in RULE_FIELDS}, **changes})
        for field, value in changes.items():
            setattr(rule, field, value)
        rule.save()
        rule.refresh_from_db()
        after = _snapshot(rule, RULE_FIELDS)
        changed = [field for field in RULE_FIELDS if before[field] != after[field]]
        if changed:
            audit_record(
                actor=actor, action="routing_rule.updated", object_type="routing.routingrule", object_id=str(rule.pk),
                before={f: before[f] for f in changed}, after={f: after[f] for f in changed}, reason=reason,
            )
    return rule
