"""Money: exact integer minor units, explicit rounding, lossless allocation (no Django)."""

import dataclasses
import decimal
import pickle
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core import currencies, money
from apps.core.currencies import CURRENCIES
from apps.core.money import (
    MAX_AMOUNT,
    CurrencyMismatch,
    InvalidAmount,
    Money,
    MoneyError,
    UnknownCurrency,
)

ROUNDING_MODES = [
    decimal.ROUND_05UP,
    decimal.ROUND_CEILING,
    decimal.ROUND_DOWN,
    decimal.ROUND_FLOOR,
    decimal.ROUND_HALF_DOWN,
    decimal.ROUND_HALF_EVEN,
    decimal.ROUND_HALF_UP,
    decimal.ROUND_UP,
]

codes = st.sampled_from(sorted(CURRENCIES))
amounts = st.one_of(
    st.integers(-1_000, 1_000),
    st.integers(-(10**12), 10**12),
    st.integers(-MAX_AMOUNT, MAX_AMOUNT),
)
monies = st.builds(Money, amounts, codes)
half_range = st.integers(-(MAX_AMOUNT // 2), MAX_AMOUNT // 2)
rounding_modes = st.sampled_from(ROUNDING_MODES)

FAST = settings(max_examples=60, deadline=None)


def exponent(code: str) -> int:
    return CURRENCIES[code].exponent


# ------------------------------------------------------------------ module surface


def test_public_names():
    assert set(money.__all__) == {
        "MAX_AMOUNT",
        "CurrencyMismatch",
        "InvalidAmount",
        "Money",
        "MoneyError",
        "UnknownCurrency",
    }
    assert money.UnknownCurrency is currencies.UnknownCurrency


def test_error_hierarchy():
    assert issubclass(MoneyError, ValueError)
    assert issubclass(InvalidAmount, MoneyError)
    assert issubclass(CurrencyMismatch, MoneyError)
    assert issubclass(UnknownCurrency, ValueError)


def test_max_amount_is_postgres_bigint():
    assert MAX_AMOUNT == 9_223_372_036_854_775_807


# -------------------------------------------------------------------- construction


def test_construct_and_fields():
    m = Money(12500, "BHD")
    assert m.amount == 12500
    assert m.currency == "BHD"


@pytest.mark.parametrize("amount", [-5, 0, MAX_AMOUNT, -MAX_AMOUNT])
def test_construct_accepts_ints_in_range(amount):
    assert Money(amount, "USD").amount == amount


@pytest.mark.parametrize(
    "amount", [1.0, 1.5, float("nan"), Decimal("1"), "1", True, False, None, 1j, Fraction(1)]
)
def test_construct_refuses_non_int_amounts(amount):
    with pytest.raises(InvalidAmount, match="must be an int"):
        Money(amount, "BHD")


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, -MAX_AMOUNT - 1, -(2**63), 10**30])
def test_construct_refuses_amounts_outside_bigint(amount):
    with pytest.raises(InvalidAmount, match="outside the supported range"):
        Money(amount, "BHD")


@pytest.mark.parametrize("currency", ["bhd", " BHD", "XAU", "XXX", "", None, 48])
def test_construct_refuses_unknown_currency(currency):
    with pytest.raises(UnknownCurrency):
        Money(1, currency)


def test_int_subclasses_are_stored_as_plain_int():
    class Fils(int):
        pass

    m = Money(Fils(5), "BHD")
    assert type(m.amount) is int
    assert m == Money(5, "BHD")


def test_money_is_frozen_slotted_hashable_and_picklable():
    m = Money(12500, "BHD")
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.amount = 1  # type: ignore[misc]
    assert not hasattr(m, "__dict__")
    assert len({m, Money(12500, "BHD"), Money(12500, "KWD")}) == 2
    assert pickle.loads(pickle.dumps(m)) == m


def test_zero():
    assert Money.zero("BHD") == Money(0, "BHD")
    assert Money.zero("JPY").is_zero
    with pytest.raises(UnknownCurrency):
        Money.zero("XAU")


# ---------------------------------------------------------------------- from_major


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("12.500", "BHD", 12500),
        ("12.5", "BHD", 12500),
        ("12", "BHD", 12000),
        ("0.001", "BHD", 1),
        ("-0.05", "BHD", -50),
        ("-0", "BHD", 0),
        ("0.000", "BHD", 0),
        ("-0.000", "BHD", 0),
        ("007.10", "USD", 710),
        ("1000", "JPY", 1000),
        ("-1000", "JPY", -1000),
        ("-0", "JPY", 0),
        ("1.0001", "CLF", 10001),
        ("9223372036854775.807", "BHD", MAX_AMOUNT),
        ("-9223372036854775.807", "BHD", -MAX_AMOUNT),
        ("9223372036854775807", "JPY", MAX_AMOUNT),
        ("0" * 5000 + "1", "JPY", 1),
    ],
)
def test_from_major_parses_exactly(text, currency, amount):
    assert Money.from_major(text, currency) == Money(amount, currency)


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("12.5001", "BHD", "4 fractional digits but BHD allows at most 3"),
        ("0.0000", "BHD", "4 fractional digits but BHD allows at most 3"),
        ("1.001", "USD", "3 fractional digits but USD allows at most 2"),
        ("1.5", "JPY", "fractional part but JPY has no minor unit"),
        ("1.0", "JPY", "fractional part but JPY has no minor unit"),
        ("1.", "JPY", "not a plain whole amount"),
        ("1e3", "BHD", "not a plain decimal amount"),
        ("1E3", "BHD", "not a plain decimal amount"),
        ("1.5e-1", "BHD", "not a plain decimal amount"),
        ("+1", "BHD", "not a plain decimal amount"),
        ("--1", "BHD", "not a plain decimal amount"),
        ("1-", "BHD", "not a plain decimal amount"),
        ("-", "BHD", "not a plain decimal amount"),
        (" 1", "BHD", "not a plain decimal amount"),
        ("1 ", "BHD", "not a plain decimal amount"),
        ("1\n", "BHD", "not a plain decimal amount"),
        ("\t1", "BHD", "not a plain decimal amount"),
        ("1 000", "BHD", "not a plain decimal amount"),
        ("1,000", "BHD", "not a plain decimal amount"),
        ("1,5", "BHD", "not a plain decimal amount"),
        ("1_000", "BHD", "not a plain decimal amount"),
        ("1'000", "BHD", "not a plain decimal amount"),
        (".", "BHD", "not a plain decimal amount"),
        (".5", "BHD", "not a plain decimal amount"),
        ("-.5", "BHD", "not a plain decimal amount"),
        ("5.", "BHD", "not a plain decimal amount"),
        ("1.2.3", "BHD", "not a plain decimal amount"),
        ("١٢", "BHD", "not a plain decimal amount"),  # Arabic-Indic digits
        ("۱۲", "BHD", "not a plain decimal amount"),  # Extended Arabic-Indic digits
        ("１２", "BHD", "not a plain decimal amount"),  # fullwidth digits
        ("12٫5", "BHD", "not a plain decimal amount"),  # Arabic decimal separator
        ("NaN", "BHD", "not a plain decimal amount"),
        ("Infinity", "BHD", "not a plain decimal amount"),
        ("0x10", "BHD", "not a plain decimal amount"),
        ("", "BHD", "empty"),
        ("9223372036854775.808", "BHD", "outside the supported range"),
        ("-9223372036854775.808", "BHD", "outside the supported range"),
        ("9223372036854775808", "JPY", "outside the supported range"),
        ("9" * 5000, "JPY", "outside the supported range"),
    ],
)
def test_from_major_refuses(text, currency, message):
    with pytest.raises(InvalidAmount, match=re.escape(message)):
        Money.from_major(text, currency)


@pytest.mark.parametrize("value", [12.5, Decimal("12.5"), 12, None, b"12", True])
def test_from_major_refuses_non_str(value):
    with pytest.raises(InvalidAmount, match="must be a str"):
        Money.from_major(value, "BHD")


def test_from_major_refuses_unknown_currency():
    with pytest.raises(UnknownCurrency):
        Money.from_major("1", "bhd")


def test_from_major_error_message_is_bounded():
    with pytest.raises(InvalidAmount) as excinfo:
        Money.from_major("x" * 100_000, "BHD")
    assert len(str(excinfo.value)) < 300


def _oracle_minor(text: str, code: str) -> int | None:
    """Independent statement of the from_major grammar and range."""
    e = exponent(code)
    pattern = r"-?[0-9]+" + (rf"(\.[0-9]{{1,{e}}})?" if e else "")
    if re.fullmatch(pattern, text, flags=re.ASCII) is None:
        return None
    value = Fraction(text) * 10**e
    assert value.denominator == 1
    return int(value) if abs(value) <= MAX_AMOUNT else None


@FAST
@given(st.text(alphabet="0123456789-+.,eE _١٢\n", max_size=12), codes)
def test_from_major_accepts_exactly_the_grammar(text, code):
    expected = _oracle_minor(text, code)
    if expected is None:
        with pytest.raises(InvalidAmount):
            Money.from_major(text, code)
    else:
        assert Money.from_major(text, code) == Money(expected, code)


@FAST
@given(st.text(max_size=10), codes)
def test_from_major_never_raises_anything_but_invalid_amount(text, code):
    try:
        result = Money.from_major(text, code)
    except InvalidAmount:
        return
    assert Money.from_major(result.to_major_str(), code) == result


# ----------------------------------------------------------------- output formats


@pytest.mark.parametrize(
    ("m", "decimal_text", "major", "formatted"),
    [
        (Money(12500, "BHD"), "12.500", "12.500", "12.500 BHD"),
        (Money(-50, "BHD"), "-0.050", "-0.050", "-0.050 BHD"),
        (Money(0, "BHD"), "0.000", "0.000", "0.000 BHD"),
        (Money(1, "KWD"), "0.001", "0.001", "0.001 KWD"),
        (Money(1000, "JPY"), "1000", "1000", "1000 JPY"),
        (Money(-7, "JPY"), "-7", "-7", "-7 JPY"),
        (Money(0, "JPY"), "0", "0", "0 JPY"),
        (Money(10000, "CLF"), "1.0000", "1.0000", "1.0000 CLF"),
        (Money(5, "USD"), "0.05", "0.05", "0.05 USD"),
        (Money(MAX_AMOUNT, "BHD"), "9223372036854775.807", "9223372036854775.807", None),
    ],
)
def test_output_formats(m, decimal_text, major, formatted):
    assert m.to_decimal() == Decimal(decimal_text)
    assert str(m.to_decimal()) == decimal_text
    assert m.to_major_str() == major
    if formatted is not None:
        assert m.format() == formatted
        assert str(m) == formatted
        assert f"{m}" == formatted


def test_to_decimal_ignores_the_ambient_context():
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.traps[decimal.Inexact] = True
        assert str(Money(MAX_AMOUNT, "BHD").to_decimal()) == "9223372036854775.807"


def test_repr():
    assert repr(Money(12500, "BHD")) == "Money(12500, 'BHD')"
    assert repr(Money(-1, "JPY")) == "Money(-1, 'JPY')"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.500 BHD", Money(12500, "BHD")),
        ("-7 JPY", Money(-7, "JPY")),
        ("0.5 USD", Money(50, "USD")),
    ],
)
def test_parse(text, expected):
    assert Money.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("12.500", InvalidAmount),
        ("12.500  BHD", InvalidAmount),
        (" 12.500 BHD", InvalidAmount),
        ("12.500 bhd", UnknownCurrency),
        ("12.500 BHD ", UnknownCurrency),
        ("BHD 12.500", UnknownCurrency),
        ("12.5001 BHD", InvalidAmount),
        ("", InvalidAmount),
        (12.5, InvalidAmount),
    ],
)
def test_parse_refuses(text, error):
    with pytest.raises(error):
        Money.parse(text)


@FAST
@given(monies)
def test_from_major_to_major_str_round_trip(m):
    assert Money.from_major(m.to_major_str(), m.currency) == m


@FAST
@given(monies)
def test_format_parse_round_trip(m):
    assert Money.parse(m.format()) == m
    assert Money.parse(str(m)) == m


@FAST
@given(monies)
def test_to_decimal_is_exact(m):
    d = m.to_decimal()
    assert Fraction(d) == Fraction(m.amount, 10 ** exponent(m.currency))
    assert d.as_tuple().exponent == -exponent(m.currency)
    # An exact value needs no rounding, so every mode must give it back unchanged.
    for rounding in ROUNDING_MODES:
        assert Money.from_decimal(d, m.currency, rounding=rounding) == m


def test_round_trips_for_every_currency():
    # One loop rather than 165 parametrized tests: same coverage, far less overhead.
    for code in CURRENCIES:
        e = exponent(code)
        edges = (0, 1, -1, 10**e - 1, 10**e, -(10**e) - 1, 123456789, MAX_AMOUNT, -MAX_AMOUNT)
        for amount in edges:
            m = Money(amount, code)
            assert Money.from_major(m.to_major_str(), code) == m, m
            assert Money.parse(m.format()) == m, m
            assert Money.from_decimal(m.to_decimal(), code, rounding=decimal.ROUND_HALF_EVEN) == m


# --------------------------------------------------------------------- from_decimal


@pytest.mark.parametrize(
    ("value", "currency", "rounding", "amount"),
    [
        (Decimal("12.5"), "BHD", decimal.ROUND_HALF_EVEN, 12500),
        (Decimal("0.0125"), "BHD", decimal.ROUND_HALF_EVEN, 12),
        (Decimal("0.0125"), "BHD", decimal.ROUND_HALF_UP, 13),
        (Decimal("0.0125"), "BHD", decimal.ROUND_HALF_DOWN, 12),
        (Decimal("0.0135"), "BHD", decimal.ROUND_HALF_EVEN, 14),
        (Decimal("-0.0125"), "BHD", decimal.ROUND_HALF_UP, -13),
        (Decimal("-0.0125"), "BHD", decimal.ROUND_FLOOR, -13),
        (Decimal("-0.0125"), "BHD", decimal.ROUND_CEILING, -12),
        (Decimal("0.0121"), "BHD", decimal.ROUND_UP, 13),
        (Decimal("0.0129"), "BHD", decimal.ROUND_DOWN, 12),
        (Decimal("0.0101"), "BHD", decimal.ROUND_05UP, 11),
        (Decimal("0.0111"), "BHD", decimal.ROUND_05UP, 11),
        (Decimal("2.5"), "JPY", decimal.ROUND_HALF_EVEN, 2),
        (Decimal("1E+3"), "JPY", decimal.ROUND_HALF_EVEN, 1000),
        (Decimal("-0"), "USD", decimal.ROUND_UP, 0),
        (Decimal("-0.001"), "USD", decimal.ROUND_HALF_EVEN, 0),
        (Decimal("1E-999999"), "BHD", decimal.ROUND_HALF_EVEN, 0),
        (Decimal("1E-999999"), "BHD", decimal.ROUND_UP, 1),
        (Decimal("-1E-1999999999999999997"), "BHD", decimal.ROUND_FLOOR, -1),
        (Decimal("-1E-1999999999999999997"), "BHD", decimal.ROUND_05UP, -1),
        (Decimal("1E-1999999999999999997"), "BHD", decimal.ROUND_HALF_UP, 0),
        (Decimal("-0E-1000000000000000000"), "BHD", decimal.ROUND_UP, 0),
        (Decimal("0.0999"), "JPY", decimal.ROUND_CEILING, 1),
        (Decimal("-0.0999"), "JPY", decimal.ROUND_CEILING, 0),
        (Decimal("1." + "1" * 10_000), "BHD", decimal.ROUND_HALF_EVEN, 1111),
        (Decimal("9223372036854775.8075"), "BHD", decimal.ROUND_DOWN, MAX_AMOUNT),
    ],
)
def test_from_decimal(value, currency, rounding, amount):
    assert Money.from_decimal(value, currency, rounding=rounding) == Money(amount, currency)


def test_from_decimal_ignores_the_ambient_context():
    with decimal.localcontext() as ctx:
        ctx.prec = 2
        ctx.rounding = decimal.ROUND_FLOOR
        ctx.traps[decimal.Inexact] = True
        result = Money.from_decimal(Decimal("1234.5675"), "BHD", rounding=decimal.ROUND_HALF_UP)
    assert result == Money(1234568, "BHD")


def test_from_decimal_requires_rounding_keyword():
    with pytest.raises(TypeError):
        Money.from_decimal(Decimal("1"), "BHD")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Money.from_decimal(Decimal("1"), "BHD", decimal.ROUND_HALF_EVEN)  # type: ignore[misc]


@pytest.mark.parametrize("rounding", ["HALF_EVEN", "round_half_even", None, 0])
def test_from_decimal_refuses_unknown_rounding(rounding):
    with pytest.raises(MoneyError, match="rounding must be"):
        Money.from_decimal(Decimal("1"), "BHD", rounding=rounding)


@pytest.mark.parametrize("value", [1.5, 1, "1.5", None, True, Fraction(1, 2)])
def test_from_decimal_refuses_non_decimal(value):
    with pytest.raises(InvalidAmount, match="must be a Decimal"):
        Money.from_decimal(value, "BHD", rounding=decimal.ROUND_HALF_EVEN)


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_from_decimal_refuses_non_finite(value):
    with pytest.raises(InvalidAmount, match="not a finite"):
        Money.from_decimal(Decimal(value), "BHD", rounding=decimal.ROUND_HALF_EVEN)


@pytest.mark.parametrize(
    ("value", "rounding"),
    [
        ("9223372036854775.8075", decimal.ROUND_HALF_UP),
        ("9223372036854775.8071", decimal.ROUND_UP),
        ("1E+16", decimal.ROUND_HALF_EVEN),
        ("-1E+30", decimal.ROUND_HALF_EVEN),
        ("1E+999999999", decimal.ROUND_DOWN),
        ("9E+999999999999999999", decimal.ROUND_DOWN),
    ],
)
def test_from_decimal_refuses_out_of_range(value, rounding):
    with pytest.raises(InvalidAmount, match="outside the supported range"):
        Money.from_decimal(Decimal(value), "BHD", rounding=rounding)


def test_from_decimal_refuses_unknown_currency():
    with pytest.raises(UnknownCurrency):
        Money.from_decimal(Decimal("1"), "XAU", rounding=decimal.ROUND_HALF_EVEN)


finite_decimals = st.one_of(
    st.decimals(
        min_value=Decimal("-1E12"),
        max_value=Decimal("1E12"),
        allow_nan=False,
        allow_infinity=False,
    ),
    # Scientific values reach the tiny (|x| < 0.1 minor unit) and huge shortcuts.
    st.builds(
        lambda coefficient, exp: Decimal(f"{coefficient}E{exp}"),
        st.integers(-(10**6), 10**6),
        st.integers(-60, 20),
    ),
)


def _quantize_or_none(value: Decimal, exp: int, rounding: str) -> Decimal | None:
    """Reference rounding in a huge context; None when the result leaves the bigint range."""
    with decimal.localcontext() as ctx:
        ctx.prec = 300
        ctx.Emin = decimal.MIN_EMIN
        ctx.Emax = decimal.MAX_EMAX
        rounded = value.quantize(Decimal(1).scaleb(exp), rounding=rounding)
        return rounded if abs(rounded.scaleb(-exp)) <= MAX_AMOUNT else None


@settings(max_examples=100, deadline=None)
@given(finite_decimals, codes, rounding_modes)
def test_from_decimal_agrees_with_quantize(value, code, rounding):
    e = exponent(code)
    expected = _quantize_or_none(value, -e, rounding)
    if expected is None:
        with pytest.raises(InvalidAmount, match="outside the supported range"):
            Money.from_decimal(value, code, rounding=rounding)
        return
    result = Money.from_decimal(value, code, rounding=rounding)
    assert result.to_decimal() == expected
    # Rounded once: never a whole minor unit away from the exact value.
    assert abs(Fraction(result.amount) - Fraction(value) * 10**e) < 1


# ---------------------------------------------------------------------------- scale


@pytest.mark.parametrize(
    ("amount", "factor", "rounding", "expected"),
    [
        (10000, "0.025", decimal.ROUND_HALF_EVEN, 250),
        (1001, "0.025", decimal.ROUND_HALF_EVEN, 25),  # 25.025
        (1001, "0.025", decimal.ROUND_UP, 26),
        (1001, "0.025", decimal.ROUND_CEILING, 26),
        (100, "0.125", decimal.ROUND_HALF_EVEN, 12),  # 12.5
        (100, "0.125", decimal.ROUND_HALF_UP, 13),
        (100, "0.135", decimal.ROUND_HALF_EVEN, 14),  # 13.5
        (-100, "0.125", decimal.ROUND_HALF_UP, -13),
        (-100, "0.125", decimal.ROUND_FLOOR, -13),
        (-100, "0.125", decimal.ROUND_CEILING, -12),
        (100, "-1", decimal.ROUND_HALF_EVEN, -100),
        (100, "0", decimal.ROUND_UP, 0),
        (0, "1E+999999999", decimal.ROUND_UP, 0),
        (100, "1E-999999", decimal.ROUND_UP, 1),
        (100, "1E-999999", decimal.ROUND_HALF_EVEN, 0),
        (-100, "1E-1999999999999999997", decimal.ROUND_FLOOR, -1),
        (100, "1E-1999999999999999997", decimal.ROUND_CEILING, 1),
        (100, "-1E-1999999999999999997", decimal.ROUND_DOWN, 0),
        (9, "1." + "1" * 10_000, decimal.ROUND_HALF_EVEN, 10),
        (3, "0.333333333333333333333333333333333333333", decimal.ROUND_HALF_EVEN, 1),
        (MAX_AMOUNT, "1", decimal.ROUND_HALF_EVEN, MAX_AMOUNT),
        (MAX_AMOUNT, "0.5", decimal.ROUND_HALF_EVEN, 4611686018427387904),
    ],
)
def test_scale(amount, factor, rounding, expected):
    result = Money(amount, "BHD").scale(Decimal(factor), rounding=rounding)
    assert result == Money(expected, "BHD")


def test_scale_ignores_the_ambient_context():
    with decimal.localcontext() as ctx:
        ctx.prec = 2
        ctx.traps[decimal.Inexact] = True
        result = Money(123456789, "BHD").scale(Decimal("1.5"), rounding=decimal.ROUND_HALF_EVEN)
    assert result == Money(185185184, "BHD")  # 185185183.5 -> even


@pytest.mark.parametrize("factor", [0.025, 1, True, "0.025", Fraction(1, 40), None])
def test_scale_refuses_non_decimal_factor(factor):
    with pytest.raises(TypeError, match="must be a Decimal"):
        Money(100, "BHD").scale(factor, rounding=decimal.ROUND_HALF_EVEN)


@pytest.mark.parametrize("factor", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_scale_refuses_non_finite_factor(factor):
    with pytest.raises(InvalidAmount, match="not finite"):
        Money(100, "BHD").scale(Decimal(factor), rounding=decimal.ROUND_HALF_EVEN)


@pytest.mark.parametrize("factor", ["2", "1E+19", "-1E+999999999", "9E+999999999999999999"])
def test_scale_refuses_out_of_range(factor):
    with pytest.raises(InvalidAmount, match="outside the supported range"):
        Money(MAX_AMOUNT, "BHD").scale(Decimal(factor), rounding=decimal.ROUND_HALF_EVEN)


def test_scale_requires_a_valid_rounding_keyword():
    with pytest.raises(TypeError):
        Money(100, "BHD").scale(Decimal("0.5"))  # type: ignore[call-arg]
    with pytest.raises(MoneyError, match="rounding must be"):
        Money(100, "BHD").scale(Decimal("0.5"), rounding="HALF_UP")


@settings(max_examples=100, deadline=None)
@given(
    st.builds(Money, st.integers(-(10**15), 10**15), codes),
    finite_decimals,
    rounding_modes,
)
def test_scale_rounds_the_exact_product_once(m, factor, rounding):
    exact = Fraction(m.amount) * Fraction(factor)
    with decimal.localcontext() as ctx:
        ctx.prec = 300
        expected = _quantize_or_none(Decimal(m.amount) * factor, 0, rounding)
    if expected is None:
        with pytest.raises(InvalidAmount, match="outside the supported range"):
            m.scale(factor, rounding=rounding)
        return
    result = m.scale(factor, rounding=rounding)
    assert result.currency == m.currency
    assert result.amount == int(expected)
    assert abs(result.amount - exact) < 1


# ----------------------------------------------------------------------- arithmetic


def test_add_sub_neg_abs():
    a, b = Money(12500, "BHD"), Money(-2500, "BHD")
    assert a + b == Money(10000, "BHD")
    assert a - b == Money(15000, "BHD")
    assert -a == Money(-12500, "BHD")
    assert -Money(0, "BHD") == Money(0, "BHD")
    assert abs(b) == Money(2500, "BHD")
    assert abs(a) == a
    assert -Money(-MAX_AMOUNT, "USD") == Money(MAX_AMOUNT, "USD")
    assert abs(Money(-MAX_AMOUNT, "USD")) == Money(MAX_AMOUNT, "USD")


@pytest.mark.parametrize("op", ["add", "sub"])
def test_add_sub_refuse_currency_mismatch(op):
    a, b = Money(1, "BHD"), Money(1, "USD")
    with pytest.raises(CurrencyMismatch) as excinfo:
        (a + b) if op == "add" else (a - b)
    assert "BHD" in str(excinfo.value) and "USD" in str(excinfo.value)
    assert (excinfo.value.left, excinfo.value.right) == ("BHD", "USD")


def test_currency_mismatch_pickles():
    error = pickle.loads(pickle.dumps(CurrencyMismatch("BHD", "USD")))
    assert (error.left, error.right) == ("BHD", "USD")
    assert str(error) == str(CurrencyMismatch("BHD", "USD"))


@pytest.mark.parametrize("other", [1, 0, 1.5, Decimal("1"), "1", None])
def test_add_sub_refuse_non_money(other):
    m = Money(1, "BHD")
    with pytest.raises(TypeError):
        m + other
    with pytest.raises(TypeError):
        other + m
    with pytest.raises(TypeError):
        m - other
    with pytest.raises(TypeError):
        other - m


def test_builtin_sum_is_refused():
    # sum() starts from int 0; Money.sum() is the way, and it needs the currency.
    with pytest.raises(TypeError):
        sum([Money(1, "BHD")])


def test_overflow_is_invalid_amount():
    big = Money(MAX_AMOUNT, "BHD")
    with pytest.raises(InvalidAmount):
        big + Money(1, "BHD")
    with pytest.raises(InvalidAmount):
        -big - Money(1, "BHD")
    with pytest.raises(InvalidAmount):
        big * 2


def test_multiply_by_int():
    m = Money(250, "BHD")
    assert m * 3 == Money(750, "BHD")
    assert 3 * m == Money(750, "BHD")
    assert m * -2 == Money(-500, "BHD")
    assert m * 0 == Money(0, "BHD")


@pytest.mark.parametrize("factor", [1.5, 2.0, Decimal("2"), True, False, Fraction(2), "2", None])
def test_multiply_refuses_non_int(factor):
    m = Money(250, "BHD")
    with pytest.raises(TypeError):
        m * factor
    with pytest.raises(TypeError):
        factor * m


def test_multiply_money_by_money_is_refused():
    with pytest.raises(TypeError):
        Money(1, "BHD") * Money(1, "BHD")


def test_equality():
    assert Money(1, "BHD") == Money(1, "BHD")
    assert Money(1, "BHD") != Money(2, "BHD")
    assert Money(1, "BHD") != Money(1, "KWD")
    assert Money(0, "BHD") != Money(0, "USD")
    assert Money(0, "BHD") != 0
    assert Money(1, "BHD") != "1.000 BHD"


def test_ordering_within_a_currency():
    small, big = Money(-5, "BHD"), Money(7, "BHD")
    assert small < big and small <= big and big > small and big >= small
    assert small <= Money(-5, "BHD") and small >= Money(-5, "BHD")
    assert not small > big
    assert sorted([big, small]) == [small, big]
    assert max(small, big) == big


@pytest.mark.parametrize("op", ["lt", "le", "gt", "ge"])
def test_ordering_refuses_currency_mismatch(op):
    a, b = Money(1, "BHD"), Money(2, "USD")
    with pytest.raises(CurrencyMismatch, match=r"BHD.*USD"):
        _compare(a, b, op)
    with pytest.raises(CurrencyMismatch, match=r"USD.*BHD"):
        _compare(b, a, op)


def _compare(a, b, op):
    return {
        "lt": lambda: a < b,
        "le": lambda: a <= b,
        "gt": lambda: a > b,
        "ge": lambda: a >= b,
    }[op]()


@pytest.mark.parametrize("other", [0, 1.5, Decimal("0"), None])
def test_ordering_refuses_non_money(other):
    m = Money(1, "BHD")
    for op in ("lt", "le", "gt", "ge"):
        with pytest.raises(TypeError):
            _compare(m, other, op)


def test_predicates():
    assert Money(0, "BHD").is_zero
    assert not Money(0, "BHD").is_positive and not Money(0, "BHD").is_negative
    assert Money(1, "BHD").is_positive and not Money(1, "BHD").is_zero
    assert Money(-1, "BHD").is_negative and not Money(-1, "BHD").is_positive


@pytest.mark.parametrize("amount", [0, 1, -1])
def test_truthiness_is_refused(amount):
    m = Money(amount, "BHD")
    with pytest.raises(TypeError, match="is_zero"):
        bool(m)
    with pytest.raises(TypeError):
        if m:
            pass
    with pytest.raises(TypeError):
        _ = not m


@FAST
@given(half_range, half_range, codes)
def test_add_then_subtract_is_identity(x, y, code):
    a, b = Money(x, code), Money(y, code)
    assert a + b - b == a
    assert a + b == b + a
    assert a - b == -(b - a)
    assert (a < b) == (x < y) and (a >= b) == (x >= y)


# --------------------------------------------------------------- allocate and split


@pytest.mark.parametrize(
    ("amount", "ratios", "expected"),
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (2, [1, 1, 1], [1, 1, 0]),  # ties go to earlier parts
        (10, [1, 3], [3, 7]),  # 2.5 / 7.5: tie, earlier first
        (7, [1, 2, 3], [1, 2, 4]),  # largest remainder (3.5) wins, not the earliest
        (101, [1, 0, 1], [51, 0, 50]),
        (100, [0, 1], [0, 100]),
        (100, [5], [100]),
        (0, [1, 2, 3], [0, 0, 0]),
        (10, [2, 3, 5], [2, 3, 5]),
        (1, [1] * 5, [1, 0, 0, 0, 0]),
        (MAX_AMOUNT, [1, 1], [MAX_AMOUNT // 2 + 1, MAX_AMOUNT // 2]),
        (1000, [10**30, 1], [1000, 0]),
    ],
)
def test_allocate(amount, ratios, expected):
    parts = Money(amount, "BHD").allocate(ratios)
    assert parts == [Money(x, "BHD") for x in expected]


def test_allocate_accepts_any_sequence():
    assert Money(3, "USD").allocate((1, 2)) == [Money(1, "USD"), Money(2, "USD")]
    assert Money(3, "USD").allocate(range(1, 3)) == [Money(1, "USD"), Money(2, "USD")]


@pytest.mark.parametrize(
    ("ratios", "error", "message"),
    [
        ([], MoneyError, "at least one ratio"),
        ([0], MoneyError, "greater than zero"),
        ([0, 0, 0], MoneyError, "greater than zero"),
        ([-1, 2], MoneyError, "non-negative"),
        ([1.5, 1], TypeError, "must be ints"),
        ([1, Decimal("1")], TypeError, "must be ints"),
        ([True, False], TypeError, "must be ints"),
        (["1"], TypeError, "must be ints"),
    ],
)
def test_allocate_refuses(ratios, error, message):
    with pytest.raises(error, match=message):
        Money(100, "BHD").allocate(ratios)


ratio_lists = st.lists(st.integers(0, 1000), min_size=1, max_size=8).filter(any)


@settings(max_examples=100, deadline=None)
@given(monies, ratio_lists)
def test_allocate_is_lossless_and_fair(m, ratios):
    parts = m.allocate(ratios)
    total = sum(ratios)
    assert len(parts) == len(ratios)
    assert all(part.currency == m.currency for part in parts)
    assert sum(part.amount for part in parts) == m.amount
    for part, ratio in zip(parts, ratios, strict=True):
        share = Fraction(m.amount * ratio, total)
        assert abs(part.amount - share) < 1
        if ratio == 0:
            assert part.is_zero
        assert part.amount * m.amount >= 0  # never the opposite sign
    assert m.allocate(ratios) == parts  # deterministic


@FAST
@given(monies, ratio_lists)
def test_allocate_negative_mirrors_positive(m, ratios):
    assert (-m).allocate(ratios) == [-part for part in m.allocate(ratios)]


@FAST
@given(monies, st.integers(1, 50))
def test_split_sums_and_is_even(m, n):
    parts = m.split(n)
    assert len(parts) == n
    assert Money.sum(parts, m.currency) == m
    magnitudes = [abs(part.amount) for part in parts]
    assert max(magnitudes) - min(magnitudes) <= 1
    assert magnitudes == sorted(magnitudes, reverse=True)  # larger parts first
    assert parts == m.allocate([1] * n)


def test_split():
    assert Money(1000, "BHD").split(3) == [
        Money(334, "BHD"),
        Money(333, "BHD"),
        Money(333, "BHD"),
    ]
    assert Money(5, "JPY").split(1) == [Money(5, "JPY")]


@pytest.mark.parametrize(("parts", "error"), [(0, MoneyError), (-1, MoneyError)])
def test_split_refuses_fewer_than_one_part(parts, error):
    with pytest.raises(error, match="at least 1"):
        Money(100, "BHD").split(parts)


@pytest.mark.parametrize("parts", [True, 2.0, Decimal("2"), "2", None])
def test_split_refuses_non_int(parts):
    with pytest.raises(TypeError):
        Money(100, "BHD").split(parts)


# ------------------------------------------------------------------------ Money.sum


def test_sum():
    items = [Money(1, "BHD"), Money(-3, "BHD"), Money(10, "BHD")]
    assert Money.sum(items, "BHD") == Money(8, "BHD")
    assert Money.sum(iter(items), "BHD") == Money(8, "BHD")
    assert Money.sum((m for m in items), "BHD") == Money(8, "BHD")


def test_sum_of_nothing_is_zero_in_the_currency():
    assert Money.sum([], "BHD") == Money(0, "BHD")
    assert Money.sum([], "JPY") == Money(0, "JPY")


def test_sum_refuses_mixed_currencies():
    with pytest.raises(CurrencyMismatch, match=r"BHD.*USD"):
        Money.sum([Money(1, "BHD"), Money(1, "USD")], "BHD")
    with pytest.raises(CurrencyMismatch):
        Money.sum([Money(1, "USD")], "BHD")


def test_sum_refuses_non_money_and_unknown_currency():
    with pytest.raises(TypeError):
        Money.sum([Money(1, "BHD"), 1], "BHD")  # type: ignore[list-item]
    with pytest.raises(UnknownCurrency):
        Money.sum([], "bhd")


def test_sum_checks_the_range_on_the_total():
    big = Money(MAX_AMOUNT, "BHD")
    assert Money.sum([big, big, -big], "BHD") == big
    with pytest.raises(InvalidAmount):
        Money.sum([big, Money(1, "BHD")], "BHD")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-(10**15), 10**15), max_size=10))
def test_sum_matches_integer_sum(values):
    items = [Money(value, "KWD") for value in values]
    assert Money.sum(items, "KWD") == Money(sum(values), "KWD")
