"""What monitoring watches, in plain Python: one movement of money, as the apps above compliance
describe it (from their outbox events, or synchronously when a rule may hold a payment)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


class ObservationKind:
    PAYMENT = "payment"
    REFUND = "refund"
    PAYOUT = "payout"
    TRANSFER = "transfer"  # a merchant's transfer between customer wallets (the ledger API)

    CHOICES = ((PAYMENT, "Payment"), (REFUND, "Refund"), (PAYOUT, "Payout"), (TRANSFER, "Wallet transfer"))


@dataclass(frozen=True, slots=True)
class Observation:
    """One movement of money. ``source`` and ``source_id`` name it ("payments.payment", its uuid):
    it is recorded once, and a rule alerts on it once, however often it is evaluated.

    ``country`` is the payer's (a payment) or the beneficiary's (a payout); ``wallet`` the
    customer wallet's ledger account id; ``card_fingerprint`` a digest of the card token;
    ``iban`` and ``counterparty_name`` the other party's, where the method has them."""

    source: str
    source_id: str
    kind: str
    merchant_id: UUID | None
    livemode: bool
    amount: int
    currency: str
    occurred_at: datetime
    method: str = ""
    country: str = ""
    wallet: str = ""
    card_fingerprint: str = ""
    iban: str = ""
    counterparty_name: str = ""
