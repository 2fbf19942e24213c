"""One evaluator per kind of rule (the catalogue in ``monitoring.catalogue`` says what each
watches), in two steps so that the windows of every rule watching a movement are read in one
statement: ``windows(parameters, observation)`` names the windows it needs (None when the rule
cannot trip on the observation: nothing is read for it), and ``finding(parameters, observation,
reads)`` returns a ``Finding`` (whom the alert is about, and the figures that tripped it) or None.

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


# --- what each kind reads: None when it cannot trip on the observation, else its windows ------

Windows = tuple[selectors.Window, ...]


def large_amount_windows(parameters: Mapping[str, Any], observation: Observation) -> Windows | None:
    return None if observation.kind not in MOVEMENTS or observation.amount < parameters["amount"] else ()


def velocity_windows(parameters: Mapping[str, Any], observation: Observation) -> Windows | None:
    dimension = parameters["dimension"]
    if observation.kind not in VELOCITY_KINDS or selectors.dimension_value(observation, dimension) is None:
        return None
    return (selectors.Window(dimension, VELOCITY_KINDS, _window_start(observation, parameters["window_minutes"])),)


def _structuring_band(parameters: Mapping[str, Any]) -> tuple[int, int]:
    ceiling = parameters["amount"]
    return ceiling * (100 - parameters["below_percent"]) // 100, ceiling


def structuring_windows(parameters: Mapping[str, Any], observation: Observation) -> Windows | None:
    dimension = parameters.get("dimension", "merchant")
    floor, ceiling = _structuring_band(parameters)
    if (observation.kind not in MOVEMENTS or not floor <= observation.amount < ceiling
            or selectors.dimension_value(observation, dimension) is None):
        return None
    return (selectors.Window(dimension, MOVEMENTS, _window_start(observation, parameters["window_minutes"]),
                             amount_from=floor, amount_below=ceiling),)


def high_risk_geography_windows(parameters: Mapping[str, Any], observation: Observation) -> Windows | None:
    return None if not observation.country or observation.amount < parameters.get("min_amount", 0) else ()


def round_amount_windows(parameters: Mapping[str, Any], observation: Observation) -> Windows | None:
    multiple, minimum = parameters["multiple"], parameters.get("min_amount", 0)
    if observation.kind not in MOVEMENTS or observation.amount < minimum or observation.amount % multiple:
        return None
    return (selectors.Window("merchant", MOVEMENTS, _window_start(observation, parameters["window_minutes"]),
                             amount_from=minimum, multiple=multiple),)


def _refund_abuse_since(parameters: Mapping[str, Any], observation: Observation) -> Any:
    return observation.occurred_at - timedelta(days=parameters["window_days"])


def refund_abuse_windows(parameters: Mapping[str, Any], observation: Observation) -> Windows | None:
    if observation.kind != ObservationKind.REFUND:
        return None
    since = _refund_abuse_since(parameters, observation)
    return (selectors.Window("merchant", (ObservationKind.REFUND,), since),
            selectors.Window("merchant", (ObservationKind.PAYMENT,), since))


# --- what each kind finds, given what was read for it ----------------------------------------


@dataclass(frozen=True, slots=True)
class Reads:
    """What a rule's finding is decided on: its windows' figures, in the order it asked for them,
    and the high-risk jurisdictions as monitoring has them now."""

    figures: tuple[selectors.WindowFigures, ...]
    jurisdictions: Mapping[str, Any]


def large_amount(parameters: Mapping[str, Any], observation: Observation, reads: Reads) -> Finding | None:
    return Finding(_merchant(observation), {"amount": observation.amount, "threshold": parameters["amount"]})


def velocity(parameters: Mapping[str, Any], observation: Observation, reads: Reads) -> Finding | None:
    [window] = reads.figures
    measured = window.count if parameters["measure"] == "count" else window.total
    if measured < parameters["threshold"]:
        return None
    dimension = parameters["dimension"]
    return Finding(subject_of(observation, dimension), {
        "dimension": dimension, "measure": parameters["measure"], "measured": measured,
        "threshold": parameters["threshold"], "window_minutes": parameters["window_minutes"],
        "count": window.count, "total": window.total})


def structuring(parameters: Mapping[str, Any], observation: Observation, reads: Reads) -> Finding | None:
    [window] = reads.figures
    if window.count < parameters["count"]:
        return None
    return Finding(subject_of(observation, parameters.get("dimension", "merchant")), {
        "dimension": parameters.get("dimension", "merchant"), "count": window.count, "total": window.total,
        "required": parameters["count"], "band": list(_structuring_band(parameters)),
        "window_minutes": parameters["window_minutes"]})


def high_risk_geography(parameters: Mapping[str, Any], observation: Observation, reads: Reads) -> Finding | None:
    jurisdiction = reads.jurisdictions.get(observation.country)
    if jurisdiction is not None and jurisdiction.list in parameters.get("lists", LISTS):
        return Finding(_merchant(observation), {
            "country": observation.country, "list": jurisdiction.list,
            "published_on": jurisdiction.published_on.isoformat(), "source": jurisdiction.source})
    if observation.country in parameters.get("countries", []):
        return Finding(_merchant(observation), {"country": observation.country, "list": "institution"})
    return None


def first_large_after_onboarding(parameters: Mapping[str, Any], observation: Observation,
                                 reads: Reads) -> Finding | None:
    profile = selectors.merchant_profile_get(observation.merchant_id)
    if profile is None or observation.occurred_at > profile.onboarded_at + timedelta(days=parameters["days"]):
        return None
    if selectors.earlier_movement_exists(observation=observation, kinds=MOVEMENTS, since=profile.onboarded_at,
                                         amount_from=parameters["amount"]):
        return None
    return Finding(_merchant(observation), {
        "amount": observation.amount, "threshold": parameters["amount"],
        "onboarded_at": profile.onboarded_at.isoformat(), "days": parameters["days"]})


def round_amount(parameters: Mapping[str, Any], observation: Observation, reads: Reads) -> Finding | None:
    [window] = reads.figures
    if window.count < parameters["count"]:
        return None
    return Finding(_merchant(observation), {
        "amount": observation.amount, "multiple": parameters["multiple"], "count": window.count,
        "required": parameters["count"], "window_minutes": parameters["window_minutes"]})


def refund_abuse(parameters: Mapping[str, Any], observation: Observation, reads: Reads) -> Finding | None:
    refunds, payments = reads.figures
    if refunds.count < parameters["min_refunds"]:
        return None
    if payments.total and refunds.total * 100 < parameters["ratio_percent"] * payments.total:
        return None
    return Finding(_merchant(observation), {
        "refunds": refunds.count, "refunded": refunds.total, "paid": payments.total,
        "ratio_percent": round(refunds.total * 100 / payments.total, 2) if payments.total else None,
        "threshold_percent": parameters["ratio_percent"], "window_days": parameters["window_days"]})


@dataclass(frozen=True, slots=True)
class Evaluator:
    """A kind of rule: ``windows(parameters, observation)`` says what it reads (None: it cannot
    trip on this observation), ``finding(parameters, observation, reads)`` what it finds."""

    windows: Callable[[Mapping[str, Any], Observation], Windows | None]
    finding: Callable[[Mapping[str, Any], Observation, Reads], Finding | None]


EVALUATORS: dict[str, Evaluator] = {
    "large_amount": Evaluator(large_amount_windows, large_amount),
    "velocity": Evaluator(velocity_windows, velocity),
    "structuring": Evaluator(structuring_windows, structuring),
    "high_risk_geography": Evaluator(high_risk_geography_windows, high_risk_geography),
    "first_large_after_onboarding": Evaluator(large_amount_windows, first_large_after_onboarding),
    "round_amount": Evaluator(round_amount_windows, round_amount),
    "refund_abuse": Evaluator(refund_abuse_windows, refund_abuse),
}
