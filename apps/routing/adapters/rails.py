"""The sandbox rails: two card acquirers, the instant local rail, the wire and the wallets."""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from apps.core.iban import iban_is_valid
from apps.routing.adapters.sandbox import APPROVE, SandboxSimulator, Verdict, decline

# Sandbox card tokens (documented in the README).
TOKEN_SUCCESS = "tok_success"
TOKEN_DECLINE = "tok_decline"
TOKEN_INSUFFICIENT_FUNDS = "tok_insufficient_funds"
TOKEN_UNKNOWN = "tok_unknown"
TOKEN_RETRYABLE = "tok_retryable"


class CardAcquirerSimulator(SandboxSimulator):
    """A card acquirer: the failure tokens decide; tok_success (and any other token) is
    approved unless the configured decline and timeout rates draw otherwise."""

    def authorization_verdict(self, *, payment_id: UUID, amount: int, currency: str,
                              payment_method: Mapping[str, Any]) -> Verdict | None:
        token = payment_method.get("token")
        if not isinstance(token, str) or not token:
            return decline("invalid_token")
        if token == TOKEN_DECLINE:
            return decline("do_not_honor")
        if token == TOKEN_INSUFFICIENT_FUNDS:
            return decline("insufficient_funds")
        if token == TOKEN_UNKNOWN:
            return Verdict("approved", answer_lost=True)
        if token == TOKEN_RETRYABLE:
            first = self.network.first_connector_for(payment_id)
            if first is None or first == self.name:
                return Verdict("error", "processor_unavailable")
            return APPROVE
        # tok_success and any other token: approved, unless the configured rates say otherwise.
        return None


class InstantRailSimulator(SandboxSimulator):
    """A Fawri+-like instant rail: BHD to a valid IBAN, up to a per-transaction cap, 24/7. It
    collects payments and credits payouts under the same terms."""

    CURRENCY = "BHD"
    PER_TRANSACTION_CAP = 1_000_000  # 1,000.000 BHD

    def _terms_verdict(self, *, amount: int, currency: str, iban: Any) -> Verdict | None:
        if currency != self.CURRENCY:
            return decline("currency_not_supported")
        if not iban_is_valid(iban):
            return decline("invalid_iban")
        if amount > self.PER_TRANSACTION_CAP:
            return decline("amount_exceeds_limit")
        return None

    def authorization_verdict(self, *, payment_id: UUID, amount: int, currency: str,
                              payment_method: Mapping[str, Any]) -> Verdict | None:
        return self._terms_verdict(amount=amount, currency=currency, iban=payment_method.get("iban"))

    def payout_verdict(self, *, amount: int, currency: str, iban: str) -> Verdict | None:
        return self._terms_verdict(amount=amount, currency=currency, iban=iban)


class WireSimulator(SandboxSimulator):
    """A SWIFT-like wire: accepted as pending, confirmed ``confirm_after_seconds`` later (learnt
    with ``inquire``)."""

    def approved_outcome(self) -> str:
        return "pending"


class WalletSimulator(SandboxSimulator):
    """Internal wallets: the money moves in fincore's ledger (the payments app posts it), so the
    simulator only has latency, outages and the configured rates."""
