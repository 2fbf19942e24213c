"""Connector adapters: the edge to each rail. Here every connector is a sandbox simulator.

:func:`adapter_build` makes the adapter of one connector; :class:`ErrorCodeMappedAdapter`
fills each result's ``retryable`` from the connector's error-code map, so failover follows
the map edited in the admin, not the adapter's opinion.
"""

import dataclasses
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from apps.routing.adapters.rails import CardAcquirerSimulator, InstantRailSimulator, WalletSimulator, WireSimulator
from apps.routing.adapters.sandbox import SandboxNetwork, SandboxSimulator, SimulatorSettings
from apps.routing.data import ConnectorAdapter, ConnectorResult
from apps.routing.domain import is_retryable

SIMULATORS: dict[str, type[SandboxSimulator]] = {
    "card_acquirer": CardAcquirerSimulator,
    "instant_rail": InstantRailSimulator,
    "wire": WireSimulator,
    "wallet": WalletSimulator,
}


class ErrorCodeMappedAdapter:
    """Wraps an adapter; each result's ``retryable`` comes from ``error_codes``."""

    def __init__(self, inner: ConnectorAdapter, error_codes: Mapping[str, str]) -> None:
        self.inner = inner
        self.name = inner.name
        self.resends_safely = inner.resends_safely
        self.error_codes = dict(error_codes)

    def _mapped(self, result: ConnectorResult) -> ConnectorResult:
        retryable = is_retryable(result.outcome, result.error_code, self.error_codes)
        return dataclasses.replace(result, retryable=retryable)

    def authorize(self, *, idempotency_key: str, payment_id: UUID, amount: int, currency: str,
                  payment_method: Mapping[str, Any], capture: bool) -> ConnectorResult:
        return self._mapped(self.inner.authorize(
            idempotency_key=idempotency_key, payment_id=payment_id, amount=amount, currency=currency,
            payment_method=payment_method, capture=capture,
        ))

    def capture(self, *, idempotency_key: str, reference: str, amount: int, currency: str) -> ConnectorResult:
        return self._mapped(self.inner.capture(
            idempotency_key=idempotency_key, reference=reference, amount=amount, currency=currency
        ))

    def void(self, *, idempotency_key: str, reference: str) -> ConnectorResult:
        return self._mapped(self.inner.void(idempotency_key=idempotency_key, reference=reference))

    def refund(self, *, idempotency_key: str, reference: str, amount: int, currency: str) -> ConnectorResult:
        return self._mapped(self.inner.refund(
            idempotency_key=idempotency_key, reference=reference, amount=amount, currency=currency
        ))

    def payout(self, *, idempotency_key: str, amount: int, currency: str, iban: str, bic: str,
               beneficiary_name: str) -> ConnectorResult:
        return self._mapped(self.inner.payout(
            idempotency_key=idempotency_key, amount=amount, currency=currency, iban=iban, bic=bic,
            beneficiary_name=beneficiary_name,
        ))

    def inquire(self, *, idempotency_key: str) -> ConnectorResult:
        return self._mapped(self.inner.inquire(idempotency_key=idempotency_key))


def adapter_build(*, kind: str, settings: SimulatorSettings, network: SandboxNetwork,
                  error_codes: Mapping[str, str]) -> ErrorCodeMappedAdapter:
    """The adapter for a connector of simulator ``kind`` (KeyError for an unknown kind)."""
    return ErrorCodeMappedAdapter(SIMULATORS[kind](settings, network), error_codes)


__all__ = ["SIMULATORS", "ErrorCodeMappedAdapter", "SimulatorSettings", "adapter_build"]
