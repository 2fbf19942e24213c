"""The sandbox simulators' common machinery: a simulated network that remembers every operation
by our idempotency key, configurable latency, declines, lost answers (timeouts) and outages.

A simulator never touches the ORM: it is handed a :class:`SandboxNetwork` (the database-backed
one in ``apps.routing.network``, an in-memory one in tests). The network records an operation
*before* the simulated latency, as a real rail would have done it before its answer reached us:
a caller killed during the call leaves the operation done at the connector, to be learnt with
``inquire``.
"""

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from apps.core.ids import uuid7
from apps.routing.data import ConnectorResult, Outcome

AUTHORIZE, CAPTURE, VOID, REFUND, PAYOUT = "authorize", "capture", "void", "refund", "payout"
BASIS = 10_000  # rates are drawn in basis points: integer arithmetic, no float thresholds


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    name: str
    latency_ms: int = 0
    decline_rate: Decimal = Decimal(0)
    timeout_rate: Decimal = Decimal(0)
    outage_rate: Decimal = Decimal(0)
    confirm_after_seconds: int = 30


@dataclass(frozen=True, slots=True)
class NetworkOperation:
    """One operation as the simulated network remembers it."""

    connector: str
    idempotency_key: str
    kind: str
    reference: str
    outcome: str  # approved | pending | declined | error
    created_at: datetime
    parent_reference: str = ""
    payment_id: UUID | None = None
    amount: int | None = None
    currency: str = ""
    error_code: str = ""
    auto_capture: bool = False
    confirm_at: datetime | None = None


class SandboxNetwork(Protocol):
    def now(self) -> datetime: ...

    def find(self, connector: str, idempotency_key: str) -> NetworkOperation | None: ...

    def find_by_reference(self, reference: str) -> NetworkOperation | None: ...

    def children(self, parent_reference: str) -> list[NetworkOperation]: ...

    def first_connector_for(self, payment_id: UUID) -> str | None:
        """The connector that first saw this payment, if any did."""
        ...

    def record(self, operation: NetworkOperation) -> NetworkOperation:
        """Store ``operation`` unless the connector already has one with its idempotency key;
        return the stored one (a concurrent twin's, if it won)."""
        ...


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the simulated network decides for a new operation."""

    outcome: str
    error_code: str = ""
    answer_lost: bool = False  # done at the network, but the caller sees a timeout (UNKNOWN)


APPROVE = Verdict("approved")


def decline(code: str) -> Verdict:
    return Verdict("declined", code)


class SandboxSimulator:
    """A connector adapter over a simulated network. Subclasses decide authorizations."""

    # The simulated network keeps one operation per idempotency key.
    resends_safely = True

    def __init__(
        self, settings: SimulatorSettings, network: SandboxNetwork, *, rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.network = network
        self.rng = rng or random.SystemRandom()
        self.sleep = sleep

    # --- the ConnectorAdapter protocol ---------------------------------------------------

    def authorize(self, *, idempotency_key: str, payment_id: UUID, amount: int, currency: str,
                  payment_method: Mapping[str, Any], capture: bool) -> ConnectorResult:
        def verdict() -> Verdict:
            decided = self.authorization_verdict(
                payment_id=payment_id, amount=amount, currency=currency, payment_method=payment_method
            )
            if decided is not None:
                return decided
            if self._draw(self.settings.decline_rate):
                return decline("do_not_honor")
            outcome = self.approved_outcome()
            return Verdict(outcome, answer_lost=self._draw(self.settings.timeout_rate))

        return self._operate(
            idempotency_key=idempotency_key, kind=AUTHORIZE, verdict=verdict, payment_id=payment_id, amount=amount,
            currency=currency, auto_capture=capture,
        )

    def capture(self, *, idempotency_key: str, reference: str, amount: int, currency: str) -> ConnectorResult:
        def verdict() -> Verdict:
            authorization, refusal = self._authorization(reference)
            if refusal is not None:
                return refusal
            if currency != authorization.currency:
                return decline("currency_mismatch")
            if authorization.auto_capture or self._has(authorization, VOID):
                return decline("authorization_closed")
            if self._total(authorization, CAPTURE) + amount > (authorization.amount or 0):
                return decline("amount_exceeds_authorization")
            return APPROVE

        return self._operate(
            idempotency_key=idempotency_key, kind=CAPTURE, verdict=verdict, parent_reference=reference,
            amount=amount, currency=currency,
        )

    def void(self, *, idempotency_key: str, reference: str) -> ConnectorResult:
        def verdict() -> Verdict:
            authorization, refusal = self._authorization(reference)
            if refusal is not None:
                return refusal
            if authorization.auto_capture or self._has(authorization, CAPTURE) or self._has(authorization, VOID):
                return decline("authorization_closed")
            return APPROVE

        return self._operate(idempotency_key=idempotency_key, kind=VOID, verdict=verdict, parent_reference=reference)

    def refund(self, *, idempotency_key: str, reference: str, amount: int, currency: str) -> ConnectorResult:
        def verdict() -> Verdict:
            authorization, refusal = self._authorization(reference)
            if refusal is not None:
                return refusal
            if currency != authorization.currency:
                return decline("currency_mismatch")
            if self._total(authorization, REFUND) + amount > self._captured(authorization):
                return decline("amount_exceeds_captured")
            return APPROVE

        return self._operate(
            idempotency_key=idempotency_key, kind=REFUND, verdict=verdict, parent_reference=reference,
            amount=amount, currency=currency,
        )

    def payout(self, *, idempotency_key: str, amount: int, currency: str, iban: str, bic: str,
               beneficiary_name: str) -> ConnectorResult:
        def verdict() -> Verdict:
            decided = self.payout_verdict(amount=amount, currency=currency, iban=iban)
            if decided is not None:
                return decided
            if self._draw(self.settings.decline_rate):
                return decline("beneficiary_bank_declined")
            return Verdict("approved", answer_lost=self._draw(self.settings.timeout_rate))

        return self._operate(idempotency_key=idempotency_key, kind=PAYOUT, verdict=verdict, amount=amount,
                             currency=currency)

    def inquire(self, *, idempotency_key: str) -> ConnectorResult:
        if self._draw(self.settings.outage_rate):
            return ConnectorResult(Outcome.ERROR, error_code="connector_unavailable", message="Sandbox outage.")
        self._latency()
        operation = self.network.find(self.name, idempotency_key)
        if operation is None:
            return ConnectorResult(Outcome.UNKNOWN, error_code="not_found", not_received=True,
                                   message="The connector has no operation with this idempotency key.")
        return self.result_of(operation)

    # --- what subclasses decide ----------------------------------------------------------

    def authorization_verdict(self, *, payment_id: UUID, amount: int, currency: str,
                              payment_method: Mapping[str, Any]) -> Verdict | None:
        """A fixed verdict for this authorization, or None to draw from the configured rates."""
        return None

    def payout_verdict(self, *, amount: int, currency: str, iban: str) -> Verdict | None:
        """A fixed verdict for this payout, or None to draw from the configured rates. Only a
        rail that credits accounts takes payouts."""
        return decline("payouts_not_supported")

    def approved_outcome(self) -> str:
        """What an accepted authorization is at first: approved, or pending (a wire)."""
        return "approved"

    # --- machinery -----------------------------------------------------------------------

    def result_of(self, operation: NetworkOperation) -> ConnectorResult:
        outcome = operation.outcome
        if outcome == "pending" and operation.confirm_at is not None and operation.confirm_at <= self.network.now():
            outcome = "approved"
        return ConnectorResult(Outcome(outcome), reference=operation.reference, error_code=operation.error_code)

    def _draw(self, rate: Decimal) -> bool:
        threshold = int(rate * BASIS)
        return threshold > 0 and self.rng.randrange(BASIS) < threshold

    def _latency(self) -> None:
        if self.settings.latency_ms:
            self.sleep(self.settings.latency_ms / 1000)

    def _root_reference(self, reference: str) -> str:
        """The authorization a reference stands for: a capture's reference means its payment's."""
        operation = self.network.find_by_reference(reference)
        if operation is not None and operation.kind == CAPTURE:
            return operation.parent_reference
        return reference

    def _authorization(self, reference: str) -> tuple[NetworkOperation, None] | tuple[None, Verdict]:
        operation = self.network.find_by_reference(self._root_reference(reference))
        if operation is None or operation.connector != self.name or operation.kind != AUTHORIZE:
            return None, decline("authorization_not_found")
        if self.result_of(operation).outcome != Outcome.APPROVED:
            return None, decline("authorization_not_approved")
        return operation, None

    def _children(self, authorization: NetworkOperation, kind: str) -> list[NetworkOperation]:
        return [op for op in self.network.children(authorization.reference) if op.kind == kind
                and op.outcome == "approved"]

    def _has(self, authorization: NetworkOperation, kind: str) -> bool:
        return bool(self._children(authorization, kind))

    def _total(self, authorization: NetworkOperation, kind: str) -> int:
        return sum(op.amount or 0 for op in self._children(authorization, kind))

    def _captured(self, authorization: NetworkOperation) -> int:
        if authorization.auto_capture:
            return authorization.amount or 0
        return self._total(authorization, CAPTURE)

    def _operate(self, *, idempotency_key: str, kind: str, verdict: Callable[[], Verdict], parent_reference: str = "",
                 payment_id: UUID | None = None, amount: int | None = None, currency: str = "",
                 auto_capture: bool = False) -> ConnectorResult:
        existing = self.network.find(self.name, idempotency_key)
        if existing is not None:
            self._latency()
            return self.result_of(existing)
        if self._draw(self.settings.outage_rate):
            # Refused at the door: nothing happened at the connector, nothing is recorded.
            return ConnectorResult(Outcome.ERROR, error_code="connector_unavailable", message="Sandbox outage.")
        decided = verdict()
        if parent_reference:
            parent_reference = self._root_reference(parent_reference)
        now = self.network.now()
        confirm_at = None
        if decided.outcome == "pending":
            confirm_at = now + timedelta(seconds=self.settings.confirm_after_seconds)
        reference = f"{self.name}_{uuid7().hex}"
        stored = self.network.record(NetworkOperation(
            connector=self.name, idempotency_key=idempotency_key, kind=kind, reference=reference,
            outcome=decided.outcome, created_at=now, parent_reference=parent_reference, payment_id=payment_id,
            amount=amount, currency=currency, error_code=decided.error_code,
            auto_capture=auto_capture and decided.outcome in ("approved", "pending"), confirm_at=confirm_at,
        ))
        self._latency()
        if stored.reference != reference:  # a concurrent call with the same key recorded it first
            return self.result_of(stored)
        if decided.answer_lost:
            return ConnectorResult(Outcome.UNKNOWN, error_code="timeout", message="The connector did not answer.")
        if stored.outcome == "pending":
            return ConnectorResult(Outcome.PENDING, reference=stored.reference)
        return self.result_of(stored)
