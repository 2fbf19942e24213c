"""Fee and reserve arithmetic of the settlement day: plain Python, no Django.

Everything here works in integer minor units (fils for BHD, cents for USD, yen for JPY) and
``Decimal``/``Fraction`` for the exact values; a float never appears. Each amount that is
posted to the ledger is rounded to a whole minor unit exactly **once**, from the exact value,
with one named rounding mode (``ROUND_HALF_EVEN`` unless a fee schedule line says otherwise).

The pieces, in the order a settlement run uses them:

* :class:`FeeScheduleLine` — one line of a fee plan: ``percent`` of the amount plus a
  ``fixed`` part, clamped to ``[minimum, maximum]``, one rounding mode, and whether a refund
  returns the percentage part (the fixed part never comes back).
* :func:`payment_fee` — the fee of one captured payment (:class:`PaymentFee`), with the exact
  unrounded value kept beside the charged whole minor units.
* :func:`refund_fee_return` — the part of a payment's fee returned to the merchant when the
  payment is refunded, wholly or partly (:class:`FeeReturn`).
* :func:`rounding_difference` — fees posted (each rounded once) against their exact sum
  rounded once: the difference a run posts so fee revenue shows the exact sum rounded once
  and the books balance to the minor unit.
* :func:`reserve_hold` and :func:`reserve_release` — the rolling reserve: a percentage of a
  business date's net held, released on the N-th business date after.
* :func:`merchant_day_net` — netting of one merchant's business date: gross captures,
  refunds, fees after returns, reserve held and released.

Worked example (BHD, 3 decimals, half-even)
-------------------------------------------
Fee plan line: 2.5 % + 0.100 BHD, minimum 0.250 BHD, no maximum.

* A capture of 12.500 BHD (12500 fils): 2.5 % of 12500 = 312.5 fils, + 100 fils fixed =
  412.5 fils exact. Half-even rounds the tie to the even neighbour: **412 fils** charged
  (0.412 BHD); the exact value 412.5 is kept.
* A second capture of 13.500 BHD: 337.5 + 100 = 437.5 exact → **438 fils** (438 is even).
* A capture of 4.000 BHD: 100 + 100 = 200 exact, below the minimum → **250 fils**.
* The merchant refunds 5.000 BHD of the 12.500 BHD capture. The contract's percentage part
  is 312.5 fils, but 412 charged - 100 fixed = 312 fils were collected as percentage, so
  312 fils are returnable; pro rata 312 * 5000 / 12500 = 124.8 →
  **125 fils** returned. The 100 fils fixed part stays charged. Were the 4.000 BHD capture
  refunded in full, it would get back its 100 fils percentage part, not the 100 fils fixed
  part nor the 50 fils top-up to the minimum (see :func:`refund_fee_return`).
* The day's fees: 412 + 438 + 250 - 125 = **975 fils** posted from merchant pending. Exact:
  412.5 + 437.5 + 250 - 124.8 = 975.2 fils, which rounds once to 975: the rounding
  difference is **0**. (Had the two ties both rounded up, 413 + 438 = 851 fils would be
  1 fil above the exact 850: a difference of -1 fil, posted from fee revenue to the
  rounding-difference account.)
* Day's net before reserve: gross 30000 - refunds 5000 - fees 975 = 24025 fils. A 10 %
  rolling reserve holds 2402.5 → **2402 fils** (half-even), released exactly on the N-th
  business date after; the merchant's net is 24025 - 2402 = **21623 fils** (21.623 BHD),
  plus any reserve released that day.

What holds (the property tests in ``tests/settlement/test_fees.py``)
--------------------------------------------------------------------
* A fee is never negative, stays within ``[minimum, maximum]`` when they are set, never
  falls when the amount grows, and is its exact value rounded once.
* Refunds of a payment, in however many parts, return together exactly what one refund of
  their total returns, and never more than ``charged - fixed``: never the fixed part, never
  more than was charged.
* ``posted + rounding_difference(posted, exact) == round(exact sum)``, where ``posted`` is
  what the per-payment fees add up to; the exact sum and its rounding are within one minor
  unit (half a unit under a half mode). The part below one minor unit is not posted and not
  carried to the next day: the ledger holds whole minor units only.
* ``net == gross - refunds - fees + fee returns - reserve held + reserve released`` to the
  minor unit.
* A reserve is held and released in the same whole minor units, so it never leaves a
  rounding difference; every amount held is released exactly once.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from apps.core.currencies import get_currency
from apps.core.money import CurrencyMismatch, Money

__all__ = [
    "ROUNDING_MODES",
    "FeeError",
    "FeeReturn",
    "FeeScheduleLine",
    "InvalidFeeSchedule",
    "MerchantDayNet",
    "PaymentFee",
    "RefundExceedsPayment",
    "ReserveCalendarTooShort",
    "ReserveHold",
    "ReserveRelease",
    "merchant_day_net",
    "payment_fee",
    "refund_fee_return",
    "reserve_hold",
    "reserve_release",
    "round_to_minor",
    "rounding_difference",
]

ROUNDING_MODES = frozenset(
    {
        decimal.ROUND_05UP,
        decimal.ROUND_CEILING,
        decimal.ROUND_DOWN,
        decimal.ROUND_FLOOR,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_HALF_UP,
        decimal.ROUND_UP,
    }
)
"""The decimal module's named rounding modes; a fee schedule line uses exactly one."""

PERCENT_MAX_DECIMAL_PLACES = 6
"""A percentage is quoted to at most 0.000001 %: keeps every exact fee a short Decimal."""

_HUNDRED = Decimal(100)
# amount (at most 19 digits) * percent (at most 3 + 6 digits), shifted, plus a 19-digit fixed part: far
# below 60 digits, and Inexact is trapped, so an exact value can never be silently rounded.
_EXACT = decimal.Context(
    prec=60,
    rounding=decimal.ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero, decimal.Inexact],
)


class FeeError(ValueError):
    """Base class of the errors of fee and reserve arithmetic."""


class InvalidFeeSchedule(FeeError):
    """A fee schedule line, reserve percentage or holding period that cannot be applied."""


class RefundExceedsPayment(FeeError):
    """Refunds of a payment adding up to more than the payment itself."""


class ReserveCalendarTooShort(FeeError):
    """The business dates given do not reach the reserve's release date (or miss its hold date)."""


def round_to_minor(exact: Fraction | Decimal | int, rounding: str) -> int:
    """Round an exact amount of minor units to a whole minor unit, once, with ``rounding``.

    Exact for any rational input (a pro rata share such as 312 * 5000 / 12500 need not
    terminate as a decimal), and gives the same result as ``Decimal.quantize(Decimal(1),
    rounding)`` would for every mode, including negative amounts (``ROUND_FLOOR`` and
    ``ROUND_CEILING`` are directed; ``ROUND_DOWN``/``ROUND_UP`` are toward/away from zero).

    Raises InvalidFeeSchedule for a rounding mode that is not one of :data:`ROUNDING_MODES`.
    """
    _check_rounding(rounding)
    value = Fraction(exact)
    numerator, denominator = value.numerator, value.denominator
    floor, remainder = divmod(numerator, denominator)
    if remainder == 0:
        return floor
    ceiling = floor + 1
    toward_zero, away_from_zero = (floor, ceiling) if numerator > 0 else (ceiling, floor)
    if rounding == decimal.ROUND_FLOOR:
        return floor
    if rounding == decimal.ROUND_CEILING:
        return ceiling
    if rounding == decimal.ROUND_DOWN:
        return toward_zero
    if rounding == decimal.ROUND_UP:
        return away_from_zero
    if rounding == decimal.ROUND_05UP:
        return away_from_zero if toward_zero % 5 == 0 else toward_zero
    twice = 2 * remainder
    if twice < denominator:
        return floor
    if twice > denominator:
        return ceiling
    if rounding == decimal.ROUND_HALF_UP:
        return away_from_zero
    if rounding == decimal.ROUND_HALF_DOWN:
        return toward_zero
    return floor if floor % 2 == 0 else ceiling  # ROUND_HALF_EVEN


def _check_rounding(rounding: object) -> None:
    if not isinstance(rounding, str) or rounding not in ROUNDING_MODES:
        raise InvalidFeeSchedule(f"rounding must be one of the decimal module's ROUND_* modes, got {rounding!r}")


def _check_percent(percent: object, what: str) -> Decimal:
    if not isinstance(percent, Decimal) or not percent.is_finite():
        raise InvalidFeeSchedule(f"{what} must be a finite Decimal, got {percent!r}")
    if not Decimal(0) <= percent <= _HUNDRED:
        raise InvalidFeeSchedule(f"{what} must be between 0 and 100, got {percent}")
    exponent = percent.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PERCENT_MAX_DECIMAL_PLACES:
        raise InvalidFeeSchedule(f"{what} has more than {PERCENT_MAX_DECIMAL_PLACES} decimal places: {percent}")
    return percent


def _check_minor(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidFeeSchedule(f"{what} must be a non-negative int of minor units, got {value!r}")
    return value


def _in_currency(money: object, currency: str, what: str) -> int:
    if not isinstance(money, Money):
        raise TypeError(f"{what} must be Money, got {type(money).__name__}")
    if money.currency != currency:
        raise CurrencyMismatch(currency, money.currency)
    return money.amount


def _non_negative(money: Money, currency: str, what: str) -> int:
    amount = _in_currency(money, currency, what)
    if amount < 0:
        raise FeeError(f"{what} must not be negative, got {money!r}")
    return amount


# ------------------------------------------------------------------------------- fees


@dataclass(frozen=True, slots=True)
class FeeScheduleLine:
    """One line of a fee plan (for a payment method and currency).

    ``percent`` is a percentage (``Decimal("2.5")`` is 2.5 %), 0 to 100, at most six decimal
    places; ``fixed``, ``minimum`` and ``maximum`` are non-negative ints of minor units of
    ``currency`` (``minimum``/``maximum`` optional, ``minimum <= maximum`` when both are set);
    ``rounding`` is one of the decimal module's named modes; ``refund_returns_percentage``
    says whether a refund returns the percentage part (the fixed part never is).

    Raises InvalidFeeSchedule for any value outside those rules; UnknownCurrency for a
    currency that is not an active ISO 4217 code.
    """

    currency: str
    percent: Decimal
    fixed: int = 0
    minimum: int | None = None
    maximum: int | None = None
    rounding: str = decimal.ROUND_HALF_EVEN
    refund_returns_percentage: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", get_currency(self.currency).code)
        _check_percent(self.percent, "percent")
        _check_minor(self.fixed, "fixed")
        if self.minimum is not None:
            _check_minor(self.minimum, "minimum")
        if self.maximum is not None:
            _check_minor(self.maximum, "maximum")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise InvalidFeeSchedule(f"minimum {self.minimum} is above maximum {self.maximum} minor units")
        _check_rounding(self.rounding)
        if not isinstance(self.refund_returns_percentage, bool):
            raise InvalidFeeSchedule("refund_returns_percentage must be a bool")


@dataclass(frozen=True, slots=True)
class PaymentFee:
    """The fee of one captured payment of ``amount`` minor units of ``currency``.

    ``percentage_part`` is the exact percentage of the amount, ``fixed_part`` the fixed fee,
    ``exact`` their sum after the clamp to ``[minimum, maximum]`` (all in minor units,
    unrounded), ``clamped`` which bound applied, and ``charged`` the fee posted: ``exact``
    rounded once with ``rounding``. ``charged - exact`` is this fee's rounding difference.
    """

    currency: str
    amount: int
    percentage_part: Decimal
    fixed_part: int
    exact: Decimal
    clamped: Literal["minimum", "maximum"] | None
    charged: int
    rounding: str


def payment_fee(line: FeeScheduleLine, amount: Money) -> PaymentFee:
    """Fee of one captured payment of ``amount`` under ``line``.

    ``exact = clamp(amount * percent / 100 + fixed, minimum, maximum)``, computed exactly in
    Decimal and rounded once to ``charged``. Because ``minimum`` and ``maximum`` are whole
    minor units and every rounding mode leaves whole numbers alone and is monotone, the
    charged fee is never negative, always within ``[minimum, maximum]`` when they are set,
    and never decreases when the amount grows.

    Raises CurrencyMismatch if ``amount`` is not in the line's currency; FeeError for a
    negative amount; TypeError if ``amount`` is not Money.
    """
    payment = _non_negative(amount, line.currency, "amount")
    percentage_part = _EXACT.multiply(Decimal(payment), line.percent).scaleb(-2, _EXACT)
    exact = _EXACT.add(percentage_part, Decimal(line.fixed))
    clamped: Literal["minimum", "maximum"] | None = None
    if line.minimum is not None and exact < line.minimum:
        exact, clamped = Decimal(line.minimum), "minimum"
    elif line.maximum is not None and exact > line.maximum:
        exact, clamped = Decimal(line.maximum), "maximum"
    return PaymentFee(
        currency=line.currency,
        amount=payment,
        percentage_part=percentage_part,
        fixed_part=line.fixed,
        exact=exact,
        clamped=clamped,
        charged=round_to_minor(exact, line.rounding),
        rounding=line.rounding,
    )


@dataclass(frozen=True, slots=True)
class FeeReturn:
    """The part of a payment's fee returned for a refund.

    ``returnable`` is the payment's percentage part that a full refund gives back (exact,
    minor units); ``exact`` this refund's exact pro rata share of it (the cumulative share
    after this refund less the share before it); ``returned`` the whole minor units given
    back for this refund.
    """

    currency: str
    refunded: int
    returnable: Fraction
    exact: Fraction
    returned: int

    @property
    def exact_decimal(self) -> Decimal:
        """``exact`` as a line adds it to its exact fees (a pro rata share need not terminate as a
        decimal: Decimal's 28 digits, far below a minor unit)."""
        return Decimal(self.exact.numerator) / Decimal(self.exact.denominator)


def refund_fee_return(
    line: FeeScheduleLine,
    refunded_amount: Money,
    original_amount: Money,
    original_fee: PaymentFee,
    *,
    already_refunded: Money | None = None,
) -> FeeReturn:
    """Fee returned to the merchant for refunding ``refunded_amount`` of a payment.

    ``line`` is the fee schedule line that charged ``original_fee`` (fee changes take effect
    from a business date; a refund gives back what was charged, not today's price).
    ``already_refunded`` is the total of this payment's earlier refunds (default zero).

    What is returned, and why:

    * Only the percentage part, and only if ``line.refund_returns_percentage``; the fixed
      part is never returned (it pays for the processing, which a refund does not undo).
    * The returnable percentage part is ``min(percentage_part, charged - fixed)``, never
      below zero. Unclamped, rounding the fee leaves the percentage actually collected
      (``charged - fixed``) a fraction of a minor unit above or below the contract's; the
      smaller of the two comes back, so a refund never returns what was not collected.
      **Clamped at the maximum**, the merchant paid less than percentage + fixed, so only
      ``charged - fixed`` was collected as percentage and only that can come back.
      **Clamped at the minimum**, the contract's percentage
      part comes back pro rata but the top-up to the minimum does not: the minimum is a
      per-payment charge, like the fixed part, so refunding a small payment never turns its
      minimum fee into a loss for the platform.
    * Pro rata to the refunded share of the payment, rounded once with the line's rounding.
      Partial refunds telescope: this refund returns the rounded cumulative share after it
      less the rounded cumulative share before it, so however a payment is refunded in
      parts, the returns add up to exactly what one refund of the same total returns, and
      never to more than ``charged - fixed`` (so never more than the fee charged).

    Raises CurrencyMismatch for amounts in another currency than the line's; FeeError if
    ``original_fee`` was not charged on ``original_amount`` under ``line`` (currency, fixed
    part, rounding), or for a negative amount; RefundExceedsPayment if the refunds add up to
    more than the payment.
    """
    currency = line.currency
    refunded = _non_negative(refunded_amount, currency, "refunded_amount")
    original = _non_negative(original_amount, currency, "original_amount")
    before = 0 if already_refunded is None else _non_negative(already_refunded, currency, "already_refunded")
    if original_fee.currency != currency or original_fee.amount != original:
        raise FeeError(
            f"original_fee was charged on {original_fee.amount} {original_fee.currency}, not on {original_amount!r}"
        )
    if original_fee.fixed_part != line.fixed or original_fee.rounding != line.rounding:
        raise FeeError("original_fee was not charged under this fee schedule line (fixed part or rounding differ)")
    if before + refunded > original:
        raise RefundExceedsPayment(
            f"refunds of {before + refunded} would exceed the payment of {original} {currency} minor units"
        )
    if not line.refund_returns_percentage or original == 0:
        returnable = Fraction(0)
    else:
        collected = original_fee.charged - original_fee.fixed_part
        returnable = max(Fraction(0), min(Fraction(original_fee.percentage_part), Fraction(collected)))
    share_before = returnable * before / original if original else Fraction(0)
    share_after = returnable * (before + refunded) / original if original else Fraction(0)
    return FeeReturn(
        currency=currency,
        refunded=refunded,
        returnable=returnable,
        exact=share_after - share_before,
        returned=round_to_minor(share_after, line.rounding) - round_to_minor(share_before, line.rounding),
    )


def rounding_difference(posted: int, exact: Fraction | Decimal, rounding: str = decimal.ROUND_HALF_EVEN) -> int:
    """What to post beside ``posted`` (fees each rounded once, added up) so that together they are
    ``exact`` (the same fees unrounded, added up) rounded once with ``rounding``. Positive: the
    fees were rounded down on the whole, and fee revenue is owed the difference. Raises
    InvalidFeeSchedule for an unknown rounding mode."""
    return round_to_minor(exact, rounding) - posted


# ----------------------------------------------------------------------------- reserve


@dataclass(frozen=True, slots=True)
class ReserveHold:
    """Reserve held out of a business date's net: ``exact`` minor units, ``held`` rounded."""

    currency: str
    net: int
    percent: Decimal
    exact: Decimal
    held: int


def reserve_hold(net: Money, percent: Decimal, *, rounding: str = decimal.ROUND_HALF_EVEN) -> ReserveHold:
    """Rolling reserve held out of a business date's ``net`` (before the reserve).

    ``percent`` of a positive net, rounded once, half-even by default. Not in the platform's
    favour on purpose: the reserve is the merchant's money, held as collateral and released
    in full, so rounding it up would hold money no contract asks for, and rounding it down
    would short the collateral; half-even is unbiased over many days. The release moves
    exactly the held whole minor units, so a reserve never leaves a rounding difference. A
    zero or negative net holds nothing: there is nothing to hold back.

    Raises InvalidFeeSchedule for a percent outside 0 to 100 or with more than six decimal
    places, or an unknown rounding mode; TypeError if ``net`` is not Money.
    """
    _check_percent(percent, "reserve percent")
    _check_rounding(rounding)
    if not isinstance(net, Money):
        raise TypeError(f"net must be Money, got {type(net).__name__}")
    exact = _EXACT.multiply(Decimal(max(net.amount, 0)), percent).scaleb(-2, _EXACT)
    return ReserveHold(
        currency=net.currency,
        net=net.amount,
        percent=percent,
        exact=exact,
        held=round_to_minor(exact, rounding),
    )


@dataclass(frozen=True, slots=True)
class ReserveRelease:
    """``amount`` minor units of reserve released on business date ``release_date``."""

    release_date: date
    amount: int


def _check_business_dates(business_dates: Sequence[date]) -> None:
    for earlier, later in pairwise(business_dates):
        if not earlier < later:
            raise ReserveCalendarTooShort(f"business dates must be strictly increasing: {earlier} then {later}")


def _check_hold_days(hold_days: object) -> int:
    if isinstance(hold_days, bool) or not isinstance(hold_days, int) or hold_days < 1:
        raise InvalidFeeSchedule(f"hold_days must be an int of at least 1, got {hold_days!r}")
    return hold_days


def reserve_release(held_on: date, amount: int, *, hold_days: int, business_dates: Sequence[date]) -> ReserveRelease:
    """When and how much of a reserve held on business date ``held_on`` is released.

    The release falls on the ``hold_days``-th business date after ``held_on``, counted in
    ``business_dates`` (the currency's business calendar, strictly increasing, containing
    ``held_on``); the whole held ``amount`` is released then.

    Raises InvalidFeeSchedule if ``hold_days`` < 1 or ``amount`` is negative;
    ReserveCalendarTooShort if ``held_on`` is not among ``business_dates``, the dates are
    not strictly increasing, or they end before the release date.
    """
    _check_hold_days(hold_days)
    _check_minor(amount, "amount")
    dates = list(business_dates)
    _check_business_dates(dates)
    try:
        index = dates.index(held_on)
    except ValueError:
        raise ReserveCalendarTooShort(f"{held_on} is not one of the business dates given") from None
    if index + hold_days >= len(dates):
        raise ReserveCalendarTooShort(
            f"the business dates given end on {dates[-1]}, before the {hold_days}th business date after {held_on}"
        )
    return ReserveRelease(release_date=dates[index + hold_days], amount=amount)


# ----------------------------------------------------------------------------- netting


@dataclass(frozen=True, slots=True)
class MerchantDayNet:
    """One merchant's business date in one currency, in minor units.

    ``fees`` are the fees charged less the fees returned that day (negative when returns
    for earlier days' payments exceed the day's charges). ``net = gross - refunds - fees -
    reserve_held + reserve_released``; it may be negative (a day of refunds), and the
    settlement run then nets it with the merchant's later days.
    """

    currency: str
    gross: int
    refunds: int
    fees: int
    reserve_held: int
    reserve_released: int
    net: int


def merchant_day_net(
    *,
    gross: Money,
    refunds: Money,
    fees_charged: Money,
    fees_returned: Money,
    reserve_held: Money,
    reserve_released: Money,
) -> MerchantDayNet:
    """Net one merchant's business date.

    All amounts in one currency (``gross``'s), each a non-negative total. Raises
    CurrencyMismatch for mixed currencies; FeeError for a negative total; TypeError for an
    amount that is not Money.
    """
    if not isinstance(gross, Money):
        raise TypeError(f"gross must be Money, got {type(gross).__name__}")
    currency = gross.currency
    gross_amount = _non_negative(gross, currency, "gross")
    refunds_amount = _non_negative(refunds, currency, "refunds")
    fees = _non_negative(fees_charged, currency, "fees_charged") - _non_negative(
        fees_returned, currency, "fees_returned"
    )
    held = _non_negative(reserve_held, currency, "reserve_held")
    released = _non_negative(reserve_released, currency, "reserve_released")
    return MerchantDayNet(
        currency=currency,
        gross=gross_amount,
        refunds=refunds_amount,
        fees=fees,
        reserve_held=held,
        reserve_released=released,
        net=gross_amount - refunds_amount - fees - held + released,
    )
