"""The ledger legs that settle one merchant line: plain Python, no Django.

A line's money sits in three of the merchant's accounts when its run starts: the business date's
captures less the refunds taken out of them in ``pending``, reserve held by earlier dates in
``reserve``, and ``available`` (which paid the rest of the refunds). Settling moves, in order:

    release      reserve   -> available   the reserve falling due
    reserve      pending   -> reserve     this date's reserve
    fee          pending   -> fee revenue the fees, while pending holds them; the rest
    fee          available -> fee revenue   from available (a day refunded in full)
    fee return   fee revenue -> available   when the day's fee returns exceed its charges
    sweep        pending   -> available   what is left: pending ends where the date found it

so ``available`` moves by exactly the line's net plus what it paid for refunds. The legs are
posted as one linked chain: all or none. None happens when an account does not hold the money
yet (a refund still holding pending): the line is carried, and the next run posts it.
"""

from dataclasses import dataclass
from enum import StrEnum


class Account(StrEnum):
    PENDING = "merchant_pending"
    AVAILABLE = "merchant_available"
    RESERVE = "merchant_reserve"
    FEE_REVENUE = "fee_revenue"


@dataclass(frozen=True, slots=True)
class Leg:
    step: str
    debit: Account
    credit: Account
    amount: int


def line_legs(*, gross: int, refunds_from_pending: int, fees: int, reserve_held: int,
              reserve_released: int) -> list[Leg] | None:
    """The legs settling a line, in posting order, or None when pending cannot fund the line's
    reserve (it holds less than that: carry the line). All amounts in minor units; ``fees`` is
    charged less returned and may be negative; the others are non-negative."""
    pending_funds = gross - refunds_from_pending
    after_reserve = pending_funds - reserve_held
    if after_reserve < 0:
        return None
    legs = [Leg("release", Account.RESERVE, Account.AVAILABLE, reserve_released),
            Leg("reserve", Account.PENDING, Account.RESERVE, reserve_held)]
    if fees >= 0:
        from_pending = min(fees, after_reserve)
        legs += [Leg("fee", Account.PENDING, Account.FEE_REVENUE, from_pending),
                 Leg("fee_from_available", Account.AVAILABLE, Account.FEE_REVENUE, fees - from_pending)]
        sweep = after_reserve - from_pending
    else:
        legs.append(Leg("fee_return", Account.FEE_REVENUE, Account.AVAILABLE, -fees))
        sweep = after_reserve
    legs.append(Leg("sweep", Account.PENDING, Account.AVAILABLE, sweep))
    return [leg for leg in legs if leg.amount > 0]
