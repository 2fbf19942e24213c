"""What payments tells the apps above it about money it took: plain frozen dataclasses."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True, slots=True)
class CapturePrice:
    """How a merchant's captures of one method are priced (settlement's fee plan line): ``percent``
    of the amount plus ``fixed`` minor units, clamped to ``[minimum, maximum]``, rounded once with
    ``rounding`` (a decimal module ROUND_* name)."""

    merchant_id: UUID
    method: str
    percent: Decimal
    fixed: int
    minimum: int | None
    maximum: int | None
    rounding: str


@dataclass(frozen=True, slots=True)
class CapturedTotal:
    """One merchant's captures in one mode over a period: how many, their amount, and their fees
    (each rounded once, and the exact sum before rounding). ``unpriced`` counts captures of a
    method the prices given did not cover (their fees are not in ``fees``)."""

    merchant_id: UUID
    livemode: bool
    captures: int
    gross: int
    fees: int
    fees_exact: Decimal
    unpriced: int
    unpriced_methods: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SucceededRefund:
    """A refund that succeeded in a period, with what settlement needs of its payment: how much of
    the refund came out of the merchant's pending balance (the rest came from available), and the
    payment's earlier succeeded refunds (a fee is returned pro rata, in parts that add up)."""

    refund_id: UUID
    merchant_id: UUID
    livemode: bool
    amount: int
    from_pending: int
    payment_id: UUID
    payment_method: str
    payment_amount_captured: int
    payment_captured_at: datetime
    refunded_before: int
