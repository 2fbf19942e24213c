"""Money as an integer number of minor units in one ISO 4217 currency.

Invariants kept by every :class:`Money` value, whichever way it was made:

* ``amount`` is a plain ``int`` (never ``bool``, ``float``, ``Decimal`` or ``str``) counting
  minor units (fils for BHD, cents for USD, yen for JPY). A float never touches money.
* ``currency`` is a code present in :data:`apps.core.currencies.CURRENCIES`.
* ``-(2**63 - 1) <= amount <= 2**63 - 1``: it fits a PostgreSQL ``bigint``. The bound is
  symmetric so that unary minus and ``abs()`` can never leave the range.

Every operation that can lose precision (``from_decimal``, ``scale``) takes a required,
keyword-only ``rounding`` mode and rounds exactly once. Operations that split money
(``allocate``, ``split``) never create or lose a minor unit.

Truthiness is refused: ``bool(money)`` raises ``TypeError``. ``if balance:`` reads like
"is there a balance?" but would otherwise be always true (plain object) or would quietly
treat a negative balance like a positive one (``amount != 0``); callers must say which
they mean with ``is_zero``, ``is_positive`` or ``is_negative``.

Standard library only on purpose: imported by Django models but testable without Django.
"""

from __future__ import annotations

import decimal
import re
import reprlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .currencies import Currency, UnknownCurrency, get_currency

__all__ = [
    "MAX_AMOUNT",
    "CurrencyMismatch",
    "InvalidAmount",
    "Money",
    "MoneyError",
    "UnknownCurrency",
]

MAX_AMOUNT = 2**63 - 1
"""Largest absolute amount in minor units (PostgreSQL ``bigint`` maximum)."""

_ROUNDING_MODES = frozenset(
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

# Loose on purpose (any number of fractional digits) so that "too many fractional digits"
# gets its own precise message instead of a generic "bad format" one. [0-9] rather than
# \d: \d (and str.isdigit) also match Arabic-Indic and other non-ASCII digits.
_MAJOR_RE = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")

_MAX_DIGITS = len(str(MAX_AMOUNT))


class MoneyError(ValueError):
    """Base class of every money error; a ``ValueError`` so generic handlers still work."""


class InvalidAmount(MoneyError):
    """An amount that cannot be represented exactly: wrong type, bad text, too many
    fractional digits for the currency, not finite, or outside the bigint range."""


class CurrencyMismatch(MoneyError):
    """An operation that needs one currency was given two. ``left``/``right`` name them."""

    def __init__(self, left: str, right: str) -> None:
        self.left = left
        self.right = right
        super().__init__(f"currency mismatch: {left} and {right} cannot be combined or compared")

    def __reduce__(self) -> tuple[type[CurrencyMismatch], tuple[str, str]]:
        # The default pickling would call __init__ with the message as its only argument.
        return (type(self), (self.left, self.right))


def _short(value: object) -> str:
    # Amount text may come straight from a request body; keep messages and logs bounded.
    return reprlib.repr(value)


def _check_range(amount: int) -> int:
    if not -MAX_AMOUNT <= amount <= MAX_AMOUNT:
        raise InvalidAmount(
            f"amount {amount} minor units is outside the supported range "
            f"±{MAX_AMOUNT} (PostgreSQL bigint)"
        )
    return amount


def _check_rounding(rounding: object) -> None:
    # Checked up front: decimal would only complain once it actually has to round, so a
    # typo'd mode could pass unnoticed through every test that happens to be exact.
    if not isinstance(rounding, str) or rounding not in _ROUNDING_MODES:
        raise MoneyError(
            f"rounding must be one of the decimal module's ROUND_* modes, got {_short(rounding)}"
        )


def _digit_count(value: Decimal) -> int:
    return len(value.as_tuple().digits)


def _context(prec: int, *, exact: bool) -> decimal.Context:
    # A private context so that nobody's getcontext().prec, rounding or traps can change a
    # result. exact=True traps Inexact: every step before the single final rounding must
    # be exact, and a precision mistake here must fail loudly rather than round twice.
    traps = [decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero]
    if exact:
        traps.append(decimal.Inexact)
    return decimal.Context(prec=prec, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=traps)


# Every x with 0 < |x| < 0.1 rounds to the same integer as 0.01 with x's sign, in every
# rounding mode (0, or ±1 for the modes that round away from zero).
_TINY = Decimal("0.01")


def _round_product(a: Decimal, b: Decimal, rounding: str, what: str) -> int:
    """Round the exact product ``a * b`` of two finite Decimals to an integer, once.

    Independent of the ambient decimal context. Raises InvalidAmount (naming ``what``)
    when the rounded result is outside ``±MAX_AMOUNT``.
    """
    if a.is_zero() or b.is_zero():
        return 0
    # 10**low <= |a * b| < 10**(low + 2). Both ends are settled before multiplying, so
    # exponents like 1E+999999999999 or 1E-999999999999 never reach decimal arithmetic,
    # where they would overflow or underflow instead of giving an answer.
    low = a.adjusted() + b.adjusted()
    if low >= _MAX_DIGITS:
        raise InvalidAmount(f"{what} is outside the supported range ±{MAX_AMOUNT} minor units")
    if low <= -3:
        exact = -_TINY if a.is_signed() != b.is_signed() else _TINY
    else:
        # A coefficient product has at most the sum of the two digit counts.
        ctx = _context(_digit_count(a) + _digit_count(b) + 1, exact=True)
        exact = ctx.multiply(a, b)
    # |exact| < 10**20 here, so the rounded integer has at most 21 digits: the precision
    # below always holds it and quantize cannot fail.
    rounded = exact.quantize(
        Decimal(1), rounding=rounding, context=_context(_MAX_DIGITS + 2, exact=False)
    )
    amount = int(rounded)
    if not -MAX_AMOUNT <= amount <= MAX_AMOUNT:
        raise InvalidAmount(f"{what} is outside the supported range ±{MAX_AMOUNT} minor units")
    return amount


@dataclass(frozen=True, slots=True, repr=False)
class Money:
    """An exact amount of money: ``amount`` minor units of ``currency``.

    Construction validates (see module docstring for the invariants):
    raises :class:`InvalidAmount` if ``amount`` is not an ``int`` (``bool``, ``float``,
    ``Decimal`` and ``str`` are refused) or is outside ``±MAX_AMOUNT``, and
    :class:`UnknownCurrency` if ``currency`` is not an exact active ISO 4217 code.

    Equality is by value; money in different currencies is simply unequal. Ordering
    across currencies raises :class:`CurrencyMismatch`. ``bool()`` raises ``TypeError``.
    """

    amount: int
    currency: str

    def __post_init__(self) -> None:
        amount = self.amount
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InvalidAmount(
                f"amount must be an int number of minor units, got "
                f"{type(amount).__name__} {_short(amount)}"
            )
        # Store plain values so an int or str subclass (IntEnum, a lazy str) cannot change
        # hashing, repr or serialisation later.
        object.__setattr__(self, "amount", _check_range(int(amount)))
        object.__setattr__(self, "currency", get_currency(self.currency).code)

    # ----------------------------------------------------------------- constructors

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``. Raises UnknownCurrency."""
        return cls(0, currency)

    @classmethod
    def from_major(cls, text: str, currency: str) -> Money:
        """Parse a major-unit decimal string exactly: ``"12.5"`` BHD -> 12500 fils.

        Accepted: optional leading ``-``, one or more ASCII digits, then optionally ``.``
        and 1..exponent ASCII digits. ``"-0"`` and ``"0.000"`` give zero. Never rounds.

        Raises UnknownCurrency for a bad currency and InvalidAmount for everything else:
        a non-str ``text`` (float, Decimal and int included), empty text, ``+``,
        whitespace, thousands separators, exponents, a lone/leading/trailing ``.``,
        non-ASCII digits, more fractional digits than the currency has (any for an
        exponent-0 currency such as JPY), or a result outside ``±MAX_AMOUNT``.
        """
        cur = get_currency(currency)
        if not isinstance(text, str):
            raise InvalidAmount(
                f"amount text must be a str, got {type(text).__name__} {_short(text)}; "
                "pass major units as a string such as '12.500' to avoid float rounding"
            )
        if not text:
            raise InvalidAmount("amount text is empty")
        match = _MAJOR_RE.fullmatch(text)
        if match is None:
            raise InvalidAmount(
                f"{_short(text)} is not a plain decimal amount: expected an optional '-', "
                f"ASCII digits and optionally '.' with 1 to {cur.exponent} digits "
                "(no '+', spaces, separators or exponents)"
                if cur.exponent
                else f"{_short(text)} is not a plain whole amount: expected an optional "
                f"'-' and ASCII digits ({cur.code} has no minor unit)"
            )
        sign, whole, fraction = match.groups()
        fraction = fraction or ""
        if len(fraction) > cur.exponent:
            if cur.exponent == 0:
                raise InvalidAmount(
                    f"{_short(text)} has a fractional part but {cur.code} has no minor unit"
                )
            raise InvalidAmount(
                f"{_short(text)} has {len(fraction)} fractional digits but {cur.code} "
                f"allows at most {cur.exponent}; round explicitly with from_decimal()"
            )
        # Strip leading zeros before int(): a long run of zeros is still a small number,
        # and counting digits first keeps int() away from huge (slow, limited) strings.
        digits = (whole + fraction.ljust(cur.exponent, "0")).lstrip("0") or "0"
        if len(digits) > _MAX_DIGITS or int(digits) > MAX_AMOUNT:
            raise InvalidAmount(
                f"{_short(text)} {cur.code} is outside the supported range "
                f"±{MAX_AMOUNT} minor units"
            )
        minor = int(digits)
        return cls(-minor if sign else minor, cur.code)

    @classmethod
    def parse(cls, text: str) -> Money:
        """Inverse of :meth:`format`: ``"12.500 BHD"`` -> ``Money(12500, 'BHD')``.

        Exactly ``<major> <CODE>`` with one ASCII space; the major part follows the rules
        of :meth:`from_major`. Raises InvalidAmount or UnknownCurrency.
        """
        if not isinstance(text, str):
            raise InvalidAmount(f"money text must be a str, got {type(text).__name__}")
        major, space, code = text.rpartition(" ")
        if not space:
            raise InvalidAmount(f"{_short(text)} is not '<amount> <CURRENCY>'")
        return cls.from_major(major, code)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str, *, rounding: str) -> Money:
        """Convert a MAJOR-unit Decimal to Money, rounding once to minor units.

        ``rounding`` is required and must be a ``decimal.ROUND_*`` mode; the ambient decimal
        context is ignored, so the result depends only on the arguments.

        Raises UnknownCurrency; InvalidAmount if ``value`` is not a ``Decimal`` (floats
        included) or not finite, or if the rounded result is outside ``±MAX_AMOUNT``;
        MoneyError for an unknown rounding mode.
        """
        cur = get_currency(currency)
        _check_rounding(rounding)
        if not isinstance(value, Decimal):
            raise InvalidAmount(
                f"value must be a Decimal in major units, got {type(value).__name__} "
                f"{_short(value)}"
            )
        if not value.is_finite():
            raise InvalidAmount(f"{_short(value)} is not a finite amount")
        minor = _round_product(
            value, Decimal(cur.minor_per_major), rounding, f"{_short(value)} {cur.code}"
        )
        return cls(minor, cur.code)

    # ------------------------------------------------------------------ conversions

    @property
    def _currency(self) -> Currency:
        return get_currency(self.currency)

    def to_decimal(self) -> Decimal:
        """Exact major-unit Decimal with exactly ``exponent`` decimal places.

        ``Money(12500, 'BHD') -> Decimal('12.500')``; ``Money(1000, 'JPY') -> Decimal('1000')``.
        Independent of the decimal context. Never raises.
        """
        sign = 1 if self.amount < 0 else 0
        digits = tuple(int(d) for d in str(abs(self.amount)))
        return Decimal((sign, digits, -self._currency.exponent))

    def to_major_str(self) -> str:
        """Major units as plain text with exactly ``exponent`` decimals, never scientific.

        ``'12.500'``, ``'-0.050'``, ``'1000'`` (JPY). ``from_major`` parses it back to an
        equal Money. Never raises.
        """
        exponent = self._currency.exponent
        sign = "-" if self.amount < 0 else ""
        digits = str(abs(self.amount))
        if exponent == 0:
            return sign + digits
        digits = digits.rjust(exponent + 1, "0")
        return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"

    def format(self) -> str:
        """``'12.500 BHD'``: :meth:`to_major_str`, a space and the code. Parse with
        :meth:`parse`. Locale-independent on purpose (logs, audit, CSV)."""
        return f"{self.to_major_str()} {self.currency}"

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        return f"Money({self.amount}, {self.currency!r})"

    # ------------------------------------------------------------------- predicates

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        """Strictly greater than zero."""
        return self.amount > 0

    @property
    def is_negative(self) -> bool:
        """Strictly less than zero."""
        return self.amount < 0

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of Money is ambiguous; use .is_zero, .is_positive or .is_negative"
        )

    # ------------------------------------------------------------------- arithmetic

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: object) -> Money:
        """Same-currency sum. CurrencyMismatch across currencies, InvalidAmount on overflow."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: object) -> Money:
        """Same-currency difference. CurrencyMismatch, InvalidAmount on overflow."""
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, other: object) -> Money:
        """Multiply by an ``int`` only; ``bool``, ``float`` and ``Decimal`` give TypeError
        (use :meth:`scale` for fractional factors). InvalidAmount on overflow."""
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return Money(self.amount * other, self.currency)

    __rmul__ = __mul__

    # Ordering only within one currency: 1 BHD vs 1 USD has no answer without a rate.
    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount >= other.amount

    def scale(self, factor: Decimal, *, rounding: str) -> Money:
        """``self * factor`` rounded once to a whole minor unit with ``rounding``.

        For rates and fees: ``Money(10000, 'BHD').scale(Decimal('0.025'),
        rounding=ROUND_HALF_EVEN) == Money(250, 'BHD')``. The product is computed exactly
        first, so the only rounding is the final one.

        Raises TypeError if ``factor`` is not a Decimal (floats are refused: 0.1 is not
        one tenth); InvalidAmount if it is not finite or the result is outside
        ``±MAX_AMOUNT``; MoneyError for an unknown rounding mode.
        """
        _check_rounding(rounding)
        if not isinstance(factor, Decimal):
            raise TypeError(
                f"factor must be a Decimal, got {type(factor).__name__} {_short(factor)}"
            )
        if not factor.is_finite():
            raise InvalidAmount(f"factor {_short(factor)} is not finite")
        minor = _round_product(
            Decimal(self.amount), factor, rounding, f"{self!r} scaled by {_short(factor)}"
        )
        return Money(minor, self.currency)

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """Split into ``len(ratios)`` parts proportional to ``ratios``.

        Invariants: ``sum(parts) == self`` exactly; every part differs from its exact share
        ``self.amount * r / sum(ratios)`` by less than one minor unit; a zero ratio gets
        zero. Largest-remainder method: each part first gets the floor of its share, then
        the leftover units go one each to the largest remainders, ties to earlier parts,
        so the result is deterministic. A negative amount is allocated as its absolute
        value and negated, so it mirrors the positive case exactly.

        Raises TypeError if a ratio is not an ``int`` (``bool`` and ``float`` included);
        MoneyError if there are no ratios, one is negative, or all are zero.
        """
        weights = tuple(ratios)
        for ratio in weights:
            if isinstance(ratio, bool) or not isinstance(ratio, int):
                raise TypeError(f"ratios must be ints, got {type(ratio).__name__} {_short(ratio)}")
        if not weights:
            raise MoneyError("allocate() needs at least one ratio")
        if any(ratio < 0 for ratio in weights):
            raise MoneyError(f"ratios must be non-negative, got {_short(list(weights))}")
        total = sum(weights)
        if total == 0:
            raise MoneyError("at least one ratio must be greater than zero")

        magnitude = abs(self.amount)
        shares = [divmod(magnitude * ratio, total) for ratio in weights]
        parts = [floor for floor, _ in shares]
        leftover = magnitude - sum(parts)
        # The remainders add up to leftover * total and each is < total, so leftover is
        # smaller than the number of non-zero remainders: only parts whose exact share is
        # fractional (never a zero ratio) receive an extra unit, hence the < 1 bound.
        by_remainder = sorted(range(len(weights)), key=lambda i: (-shares[i][1], i))
        for index in by_remainder[:leftover]:
            parts[index] += 1
        sign = -1 if self.amount < 0 else 1
        return [Money(sign * part, self.currency) for part in parts]

    def split(self, parts: int) -> list[Money]:
        """``allocate([1] * parts)``: ``parts`` near-equal parts, larger ones first.

        Raises TypeError if ``parts`` is not an ``int`` (or is a ``bool``); MoneyError if it
        is less than 1.
        """
        if isinstance(parts, bool) or not isinstance(parts, int):
            raise TypeError(f"parts must be an int, got {type(parts).__name__}")
        if parts < 1:
            raise MoneyError(f"parts must be at least 1, got {parts}")
        return self.allocate([1] * parts)

    @classmethod
    def sum(cls, items: Iterable[Money], currency: str) -> Money:
        """Total of ``items``, all in ``currency``; an empty iterable gives zero.

        ``currency`` is required so an empty total still has a currency. The range is
        checked on the final total only, like a database SUM of a bigint column.
        Raises UnknownCurrency; TypeError for a non-Money item; CurrencyMismatch for an
        item in another currency; InvalidAmount if the total is outside ``±MAX_AMOUNT``.
        """
        code = get_currency(currency).code
        total = 0
        for item in items:
            if not isinstance(item, Money):
                raise TypeError(f"Money.sum() items must be Money, got {type(item).__name__}")
            if item.currency != code:
                raise CurrencyMismatch(code, item.currency)
            total += item.amount
        return cls(total, code)
