"""The vocabulary of alerts and cases: who an alert is about, what holds it keeps, severities and
their service levels. Plain Python: the monitoring rules, the screening and the apps that hand
compliance their holds all speak it."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID


class SubjectType:
    """Whom or what an alert is about; alerts about the same subject group into one open case."""

    MERCHANT = "merchant"
    WALLET = "wallet"  # a customer's wallet: a ledger account (acc_…)
    PAYMENT = "payment"
    PAYOUT = "payout"
    COUNTERPARTY = "counterparty"  # a card fingerprint, an IBAN, a payer or beneficiary name

    CHOICES = (
        (MERCHANT, "Merchant"), (WALLET, "Customer wallet"), (PAYMENT, "Payment"), (PAYOUT, "Payout"),
        (COUNTERPARTY, "Counterparty"),
    )


class Severity:
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    CHOICES = ((LOW, "Low"), (MEDIUM, "Medium"), (HIGH, "High"), (CRITICAL, "Critical"))
    RANK = {LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4}
    # How long a case of this severity may stay open before it is overdue (CBB FC: alerts are
    # reviewed "promptly"; these are the institution's own service levels, documented in the README).
    SLA = {LOW: timedelta(days=30), MEDIUM: timedelta(days=10), HIGH: timedelta(days=3), CRITICAL: timedelta(days=1)}

    @classmethod
    def higher(cls, first: str, second: str) -> str:
        return first if cls.RANK[first] >= cls.RANK[second] else second


@dataclass(frozen=True, slots=True)
class Subject:
    """What an alert is about, as the officer reads it: ``id`` is the subject's own identifier
    (a merchant's or wallet's uuid, a card fingerprint, an IBAN); ``label`` is what the admin shows."""

    type: str
    id: str
    label: str
    merchant_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """An object kept from going on until an officer releases or declines it from the alert:
    ``object_type`` is one a hold handler is registered for ("payments.payment", "payments.payout");
    a hold nobody reviewed by ``due_at`` follows its rule's default (decline)."""

    object_type: str
    object_id: str
    due_at: datetime
