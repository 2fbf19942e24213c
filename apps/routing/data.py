"""The routing app's vocabulary for payments: what is being routed, where it went and why, and
what a connector answered.

Plain frozen data: the payments app builds a PaymentDescription, asks routing for a
RoutingDecision, calls the chosen connectors through the ConnectorAdapter protocol and reports
each ConnectorResult back.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID


class Method(StrEnum):
    CARD = "card"
    INSTANT = "instant"
    WIRE = "wire"
    WALLET = "wallet"


@dataclass(frozen=True, slots=True)
class PaymentDescription:
    """What routing decides on. The dry-run in the admin builds one from a form."""

    payment_id: UUID
    merchant_id: UUID | None
    amount: int
    currency: str
    method: Method
    country: str
    livemode: bool  # live payments go to live connectors only, test payments to test ones
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """Where a payment goes, in the order to try, and why.

    ``candidates`` are connector names; the payment tries the first, and fails over down the
    list on a retryable failure. ``excluded`` names each connector left out and why (not
    eligible, circuit open); ``scores`` the success rate each candidate was ranked by.
    """

    candidates: tuple[str, ...]
    strategy: str  # "priority", "volume_split", "success_rate"
    rule: str  # the matching rule's name, or "default"
    reason: str  # one sentence for people: the admin and the API show it
    scores: Mapping[str, float] = field(default_factory=dict)
    excluded: Mapping[str, str] = field(default_factory=dict)
    explored: bool = False  # success-rate exploration chose a candidate that is not the best

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidates": list(self.candidates),
            "strategy": self.strategy,
            "rule": self.rule,
            "reason": self.reason,
            "scores": dict(self.scores),
            "excluded": dict(self.excluded),
            "explored": self.explored,
        }


@dataclass(frozen=True, slots=True)
class PayoutDescription:
    """What routing decides a payout's rail on: the instant rail (at or below the currency's
    instant payout limit) or the payment file."""

    payout_id: UUID
    merchant_id: UUID
    amount: int
    currency: str
    country: str  # the beneficiary's IBAN country
    livemode: bool  # live payouts go to live connectors only, test payouts to test ones


class Operation(StrEnum):
    """What payments asks of a connector."""

    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    REFUND = "refund"
    PAYOUT = "payout"  # a credit transfer to a beneficiary's account (an instant payout)
    INQUIRE = "inquire"


class Outcome(StrEnum):
    APPROVED = "approved"  # done: authorized (or captured, refunded, voided)
    PENDING = "pending"  # accepted; the rail confirms later (a wire): ask again with inquire()
    DECLINED = "declined"  # the issuer or the rail said no
    ERROR = "error"  # a technical failure: nothing happened at the connector
    UNKNOWN = "unknown"  # no answer (timeout): it may or may not have happened; never retry blindly


@dataclass(frozen=True, slots=True)
class ConnectorResult:
    outcome: Outcome
    reference: str = ""  # the connector's id for the operation
    error_code: str = ""  # the connector's own code ("do_not_honor", "timeout", ...)
    message: str = ""
    # Whether another connector may be tried: from the connector's error-code map, not the
    # adapter's opinion. Only DECLINED and ERROR can be retryable; UNKNOWN never is.
    retryable: bool = False
    # An inquiry's answer: the connector has no record of the request at all (UNKNOWN).
    not_received: bool = False
    # With not_received: the connector deduplicates requests by our idempotency key, so the
    # request may be sent again with the same key and can never be done twice.
    resend_safe: bool = False


class ConnectorAdapter(Protocol):
    """The edge to one rail. Called outside any database transaction; every call carries our
    idempotency key."""

    name: str
    # The rail deduplicates requests by our idempotency key: sending one again with the same key
    # can never do it twice. A rail that does not cannot be sent a request whose fate is unknown.
    resends_safely: bool

    def authorize(self, *, idempotency_key: str, payment_id: UUID, amount: int, currency: str,
                  payment_method: Mapping[str, Any], capture: bool) -> ConnectorResult: ...

    def capture(self, *, idempotency_key: str, reference: str, amount: int, currency: str) -> ConnectorResult: ...

    def void(self, *, idempotency_key: str, reference: str) -> ConnectorResult: ...

    def refund(self, *, idempotency_key: str, reference: str, amount: int, currency: str) -> ConnectorResult: ...

    def payout(self, *, idempotency_key: str, amount: int, currency: str, iban: str, bic: str,
               beneficiary_name: str) -> ConnectorResult:
        """Credit ``amount`` to the beneficiary's account: APPROVED (credited), DECLINED (the rail
        or the beneficiary's bank refused), ERROR (not sent) or UNKNOWN (no answer)."""
        ...

    def inquire(self, *, idempotency_key: str) -> ConnectorResult:
        """The outcome of the earlier call made with ``idempotency_key``: UNKNOWN while the
        connector cannot say, with ``not_received`` when it has no record of the request."""
        ...
