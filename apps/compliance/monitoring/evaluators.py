"""One evaluator per kind of rule (the catalogue in ``monitoring.catalogue`` says what each
watches): ``evaluator(parameters, observation)`` reads the windows it needs and returns a
``Finding`` (whom the alert is about, and the figures that tripped it) or None.

``parameters`` are the rule's for the observation's currency. The observation is recorded before
it is evaluated, so every window includes it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from apps.compliance.data import Observation, ObservationKind, Subject, SubjectType
from apps.compliance.monitoring import selectors
from apps.compliance.monitoring.catalogue import LISTS

MOVEMENTS = (ObservationKind.PAYMENT, ObservationKind.TRANSFER, ObservationKind.PAYOUT)
# Velocity counts money coming in and moved between wallets, not the merchant's own payouts.
VELOCITY_KINDS = (ObservationKind.PAYMENT, ObservationKind.TRANSFER)


@dataclass(frozen=True, slots=True)
class Finding:
    subject: Subject
    figures: dict[str, Any] = field(default_factory=dict)


def _merchant(observation: Observation) -> Subject:
    profile = selectors.merchant_profile_get(observation.merchant_id)
    label = profile.legal_name if profile is not None else f"Merchant {observation.merchant_id}"
    return Subject(SubjectType.MERCHANT, str(observation.merchant_id), label, observation.merchant_id)


def subject_of(observation: Observation, dimension: str) -> Subject:
    """Whom a window's alert is about: the merchant, the customer wallet, or the card or IBAN."""
    if dimension == "merchant":
        return _merchant(observation)
    value = str(selectors.dimension_value(observation, dimension))
    if dimension == "wallet":
        return Subject(SubjectType.WALLET, value, f"Wallet {value}", observation.merchant_id)
    label = f"Card …{value[-8:]} (fingerprint)" if dimension == "card_fingerprint" else f"IBAN {value}"
    return Subject(SubjectType.COUNTERPARTY, value, label, observation.merchant_id)


def _window_start(observation: Observation, minutes: int) -> Any:
    return observation.occurred_at - timedelta(minutes=minutes)


def large_amount(parameters: Mapping[str, Any], observation: Observation) -> Finding | None:
    if observation.kind not in MOVEMENTS or observation.amount < parameters["amount"]:
        return None
    return Finding(_merchant(observation), {"amount": observation.amount, "threshold": parameters["amount"]})


def velocity(parameters: Mapping[str, Any], observation: Observation) -> Finding | None:
    dimension = parameters["dimension"]
    if observation.kind not in VELOCITY_KINDS or selectors.dimension_value(observation, dimension) is None:
        return None
    figures = selectors.window_figures(selectors.window(
        observation=observation, dimension=dimension, kinds=VELOCITY_KINDS,
        since=_window_start(observation, parameters["window_minutes"])))
    measured = figures.count if parameters["measure"] == "count" else figures.total
    if measured < parameters["threshold"]:
        return None
    return Finding(subject_of(observation, dimension), {
        "dimension": dimension, "measure": parameters["measure"], "measured": measured,
        "threshold": parameters["threshold"], "window_minutes": parameters["window_minutes"],
        "count": figures.count, "total": figures.total})


def structuring(parameters: Mapping[str, Any], observation: Observation) -> Finding | None:
    dimension = parameters.get("dimension", "merchant")
    ceiling = parameters["amount"]
    floor = ceiling * (100 - parameters["below_percent"]) // 100
    if (observation.kind not in MOVEMENTS or not floor <= observation.amount < ceiling
            or selectors.dimension_value(observation, dimension) is None):
        return None
    figures = selectors.window_figures(selectors.window(
        observation=observation, dimension=dimension, kinds=MOVEMENTS,
        since=_window_start(observation, parameters["window_minutes"])).filter(amount__gte=floor, amount__lt=ceiling))
    if figures.count < parameters["count"]:
        return None
    return Finding(subject_of(observation, dimension), {
        "dimension": dimension, "count": figures.count, "total": figures.total, "required": parameters["count"],
        "band": [floor, ceiling], "window_minutes": parameters["window_minutes"]})


def high_risk_geography(parameters: Mapping[str, Any], observation: Observation) -> Finding | None:
    if not observation.country or observation.amount < parameters.get("min_amount", 0):
        return None
    listed = selectors.high_risk_countries(tuple(parameters.get("lists", LISTS)))
    jurisdiction = listed.get(observation.country)
    if jurisdiction is not None:
        return Finding(_merchant(observation), {
            "country": observation.country, "list": jurisdiction.list,
            "published_on": jurisdiction.published_on.isoformat(), "source": jurisdiction.source})
    if observation.country in parameters.get("countries", []):
        return Finding(_merchant(observation), {"country": observation.country, "list": "institution"})
    return None


def first_large_after_onboarding(parameters: Mapping[str, Any], observation: Observation) -> Finding | None:
    if observation.kind not in MOVEMENTS or observation.amount < parameters["amount"]:
        return None
    profile = selectors.merchant_profile_get(observation.merchant_id)
    if profile is None or observation.occurred_at > profile.onboarded_at + timedelta(days=parameters["days"]):
        return None
    earlier_large = selectors.window(
        observation=observation, dimension="merchant", kinds=MOVEMENTS, since=profile.onboarded_at,
    ).filter(amount__gte=parameters["amount"], occurred_at__lt=observation.occurred_at).exists()
    if earlier_large:
        return None
    return Finding(_merchant(observation), {
        "amount": observation.amount, "threshold": parameters["amount"],
        "onboarded_at": profile.onboarded_at.isoformat(), "days": parameters["days"]})


def round_amount(parameters: Mapping[str, Any], observation: Observation) -> Finding | None:
    multiple, minimum = parameters["multiple"], parameters.get("min_amount", 0)
    if observation.kind not in MOVEMENTS or observation.amount < minimum or observation.amount % multiple:
        return None
    amounts = selectors.window(
        observation=observation, dimension="merchant", kinds=MOVEMENTS,
        since=_window_start(observation, parameters["window_minutes"]),
    ).filter(amount__gte=minimum).values_list("amount", flat=True)
    round_count = sum(1 for amount in amounts if amount % multiple == 0)
    if round_count < parameters["count"]:
        return None
    return Finding(_merchant(observation), {
        "amount": observation.amount, "multiple": multiple, "count": round_count, "required": parameters["count"],
        "window_minutes": parameters["window_minutes"]})


def refund_abuse(parameters: Mapping[str, Any], observation: Observation) -> Finding | None:
    if observation.kind != ObservationKind.REFUND:
        return None
    since = observation.occurred_at - timedelta(days=parameters["window_days"])
    refunds = selectors.window_figures(selectors.window(
        observation=observation, dimension="merchant", kinds=(ObservationKind.REFUND,), since=since))
    payments = selectors.window_figures(selectors.window(
        observation=observation, dimension="merchant", kinds=(ObservationKind.PAYMENT,), since=since))
    if refunds.count < parameters["min_refunds"]:
        return None
    if payments.total and refunds.total * 100 < parameters["ratio_percent"] * payments.total:
        return None
    return Finding(_merchant(observation), {
        "refunds": refunds.count, "refunded": refunds.total, "paid": payments.total,
        "ratio_percent": round(refunds.total * 100 / payments.total, 2) if payments.total else None,
        "threshold_percent": parameters["ratio_percent"], "window_days": parameters["window_days"]})


EVALUATORS: dict[str, Callable[[Mapping[str, Any], Observation], Finding | None]] = {
    "large_amount": large_amount,
    "velocity": velocity,
    "structuring": structuring,
    "high_risk_geography": high_risk_geography,
    "first_large_after_onboarding": first_large_after_onboarding,
    "round_amount": round_amount,
    "refund_abuse": refund_abuse,
}
