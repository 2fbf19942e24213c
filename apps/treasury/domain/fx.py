"""FX arithmetic, in plain Python: the client rate, the amount on the other side, and the rounding
difference, all with ``Decimal`` and exactly one rounding to minor units.

Amounts are integers in minor units. A rate says how many major units of the quote currency one
major unit of the base currency buys (``USD,BHD,0.376``: 1 USD = 0.376 BHD). Nothing here rounds a
rate: the client rate ``mid x (1 - spread)`` is exact (10 + 10 decimal places at most), so the
only rounding is the one of the computed amount, ``ROUND_HALF_EVEN`` to the currency's minor
units. Half-even is unbiased: over many conversions the differences, fincore's gains and losses,
average to zero instead of drifting one way, and each is at most half a minor unit.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal, localcontext

from apps.core.currencies import get_currency

# Exact for every product here: rates have at most 24 significant digits and 10 decimals,
# amounts at most 19 digits, exponents differ by at most 4.
_EXACT = Context(prec=80)
RATE_PLACES = 10
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
# Rounding differences are kept to 40 decimal places of a minor unit (the database column's scale).
DIFFERENCE_PLACES = 40
DIFFERENCE_QUANTUM = Decimal(1).scaleb(-DIFFERENCE_PLACES)


def client_rate(*, mid: Decimal, spread: Decimal) -> Decimal:
    """What the client gets: the mid rate less the spread (a fraction: 0.0025 is 25 bp). Exact."""
    with localcontext(_EXACT):
        return mid * (Decimal(1) - spread)


def inverse_rate(mid: Decimal) -> Decimal:
    """The rate of the other direction of a published pair, 1/mid to the 10 decimal places a
    published rate has (half-even). This derives a rate; it is not a rounding of money."""
    with localcontext(_EXACT):
        return (Decimal(1) / mid).quantize(_RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


def _minor_shift(from_currency: str, to_currency: str) -> Decimal:
    return Decimal(1).scaleb(get_currency(to_currency).exponent - get_currency(from_currency).exponent)


@dataclass(frozen=True, slots=True)
class Amounts:
    """One conversion's amounts. ``rounding_difference`` is fincore's gain from the one rounding, in
    minor units of ``rounding_currency`` (negative: a loss); always within half a minor unit."""

    sell_amount: int
    buy_amount: int
    rounding_currency: str
    rounding_difference: Decimal


def amounts_for_sell(*, sell_amount: int, sell_currency: str, buy_currency: str, rate: Decimal) -> Amounts:
    """Selling ``sell_amount`` at the client ``rate`` (buy per sell, major units): the buy amount is
    ``sell x rate`` rounded once; fincore keeps what the client does not receive."""
    with localcontext(_EXACT):
        exact = Decimal(sell_amount) * rate * _minor_shift(sell_currency, buy_currency)
        buy = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        return Amounts(sell_amount, buy, buy_currency, exact - buy)


def amounts_for_buy(*, buy_amount: int, sell_currency: str, buy_currency: str, rate: Decimal) -> Amounts:
    """Buying exactly ``buy_amount``: the sell amount is ``buy / rate`` rounded once; fincore keeps
    what the client pays above the exact price. The exact price of a rate that does not divide
    evenly is taken to 40 decimal places of a minor unit (the difference recorded is that exact)."""
    with localcontext(_EXACT):
        exact = Decimal(buy_amount) / rate * _minor_shift(buy_currency, sell_currency)
        exact = exact.quantize(DIFFERENCE_QUANTUM, rounding=ROUND_HALF_EVEN)
        sell = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
        return Amounts(sell, buy_amount, sell_currency, sell - exact)


@dataclass(frozen=True, slots=True)
class Carry:
    """The rounding differences of one currency not yet posted: ``units`` whole minor units to post
    now (fincore's gain if positive) and the ``remainder`` (a fraction, |remainder| < 1) kept."""

    units: int
    remainder: Decimal


def carry_add(*, remainder: Decimal, difference: Decimal) -> Carry:
    """Adds a conversion's rounding difference to the unposted remainder and takes out the whole
    minor units (toward zero), so posted units + remainder always equals the sum of differences."""
    with localcontext(_EXACT):
        total = remainder + difference
        units = int(total.to_integral_value(rounding=ROUND_DOWN))
        return Carry(units, total - units)
