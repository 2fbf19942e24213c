"""Fee and reserve arithmetic of the settlement day (pure Python, no Django): worked examples
with exact values in BHD (3 decimals), USD (2) and JPY (0), and hypothesis properties."""

import ast
import dataclasses
import decimal
import sys
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apps.core.money import CurrencyMismatch, Money
from apps.settlement.domain import fees
from apps.settlement.domain.fees import (
    ROUNDING_MODES,
    FeeError,
    FeeScheduleLine,
    InvalidFeeSchedule,
    RefundExceedsPayment,
    ReserveCalendarTooShort,
    ReserveRelease,
    merchant_day_net,
    payment_fee,
    refund_fee_return,
    reserve_hold,
    reserve_release,
    round_to_minor,
    rounding_difference,
)

PROPERTY = settings(max_examples=200, deadline=None)

HALF_EVEN = decimal.ROUND_HALF_EVEN
HALF_MODES = {decimal.ROUND_HALF_EVEN, decimal.ROUND_HALF_UP, decimal.ROUND_HALF_DOWN}


def bhd(fils: int) -> Money:
    return Money(fils, "BHD")


# The BHD plan of the module docstring: 2.5 % + 0.100 BHD, minimum 0.250 BHD.
BHD_PLAN = FeeScheduleLine(currency="BHD", percent=Decimal("2.5"), fixed=100, minimum=250)


def bahrain_business_dates(start: date, count: int) -> list[date]:
    """Sunday to Thursday (Bahrain's weekend is Friday-Saturday), no holidays."""
    dates, day = [], start
    while len(dates) < count:
        if day.weekday() not in (4, 5):
            dates.append(day)
        day += timedelta(days=1)
    return dates


# ------------------------------------------------------------------ module surface


def test_module_imports_nothing_but_the_standard_library_and_core_money():
    """Checked on the source as a quick guard; import-linter's plain-python contract checks
    the whole import graph."""
    tree = ast.parse(Path(fees.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names} == {
        "apps.core.currencies",
        "apps.core.money",
    }


# ------------------------------------------------------------------ worked examples: fees


def test_bhd_fee_on_12_500_is_412_fils_half_even_with_the_exact_tie_kept():
    fee = payment_fee(BHD_PLAN, bhd(12500))
    assert fee.percentage_part == Decimal("312.5")
    assert fee.fixed_part == 100
    assert fee.exact == Decimal("412.5")
    assert fee.clamped is None
    assert fee.charged == 412
    assert fee.currency == "BHD"
    assert fee.amount == 12500


def test_bhd_fee_rounds_the_other_tie_up_to_the_even_fil():
    assert payment_fee(BHD_PLAN, bhd(13500)).charged == 438


def test_the_line_rounding_mode_is_the_one_applied():
    half_up = FeeScheduleLine(currency="BHD", percent=Decimal("2.5"), fixed=100, rounding=decimal.ROUND_HALF_UP)
    down = FeeScheduleLine(currency="BHD", percent=Decimal("2.5"), fixed=100, rounding=decimal.ROUND_DOWN)
    assert payment_fee(half_up, bhd(12500)).charged == 413
    assert payment_fee(down, bhd(13500)).charged == 437


def test_bhd_fee_below_the_minimum_is_the_minimum():
    fee = payment_fee(BHD_PLAN, bhd(4000))
    assert (fee.percentage_part, fee.exact, fee.clamped, fee.charged) == (Decimal(100), Decimal(250), "minimum", 250)


def test_usd_fee_above_the_maximum_is_the_maximum():
    line = FeeScheduleLine(currency="USD", percent=Decimal("2.9"), fixed=30, maximum=500)
    fee = payment_fee(line, Money(100000, "USD"))
    assert (fee.percentage_part, fee.exact, fee.clamped, fee.charged) == (Decimal(2900), Decimal(500), "maximum", 500)
    assert payment_fee(line, Money(1999, "USD")).charged == 88  # 57.971 + 30 = 87.971


def test_jpy_fee_in_whole_yen():
    line = FeeScheduleLine(currency="JPY", percent=Decimal("3.6"), fixed=0)
    fee = payment_fee(line, Money(1001, "JPY"))
    assert (fee.exact, fee.charged) == (Decimal("36.036"), 36)


def test_percent_to_six_decimal_places_is_exact():
    line = FeeScheduleLine(currency="BHD", percent=Decimal("1.234567"))
    fee = payment_fee(line, bhd(9_999_999_999))
    assert fee.exact == Decimal("123456699.98765433")  # 123456700 - 0.01234567
    assert fee.charged == 123456700


def test_zero_amount_is_charged_the_fixed_part_or_the_minimum():
    assert payment_fee(FeeScheduleLine(currency="USD", percent=Decimal(3), fixed=30), Money(0, "USD")).charged == 30
    assert payment_fee(BHD_PLAN, bhd(0)).charged == 250


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("percent", 2.5, "finite Decimal"),
        ("percent", Decimal("NaN"), "finite Decimal"),
        ("percent", Decimal("-0.1"), "between 0 and 100"),
        ("percent", Decimal("100.000001"), "between 0 and 100"),
        ("percent", Decimal("1.0000001"), "more than 6 decimal places"),
        ("fixed", -1, "non-negative int"),
        ("fixed", True, "non-negative int"),
        ("fixed", Decimal(1), "non-negative int"),
        ("minimum", -5, "non-negative int"),
        ("maximum", 1.0, "non-negative int"),
        ("rounding", "HALF_EVEN", "ROUND_"),
        ("rounding", None, "ROUND_"),
        ("refund_returns_percentage", 1, "bool"),
    ],
)
def test_fee_schedule_line_refuses(field, value, message):
    arguments = {"currency": "BHD", "percent": Decimal("2.5"), "fixed": 100, field: value}
    with pytest.raises(InvalidFeeSchedule, match=message):
        FeeScheduleLine(**arguments)


def test_fee_schedule_line_refuses_minimum_above_maximum_and_an_unknown_currency():
    with pytest.raises(InvalidFeeSchedule, match="minimum 501 is above maximum 500"):
        FeeScheduleLine(currency="BHD", percent=Decimal(1), minimum=501, maximum=500)
    with pytest.raises(ValueError, match="XBH"):
        FeeScheduleLine(currency="XBH", percent=Decimal(1))
    assert FeeScheduleLine(currency="BHD", percent=Decimal("2.50000000"), minimum=5, maximum=5).maximum == 5


def test_payment_fee_refuses_another_currency_a_negative_amount_and_a_bare_int():
    with pytest.raises(CurrencyMismatch):
        payment_fee(BHD_PLAN, Money(12500, "USD"))
    with pytest.raises(FeeError, match="must not be negative"):
        payment_fee(BHD_PLAN, bhd(-1))
    with pytest.raises(TypeError, match="must be Money"):
        payment_fee(BHD_PLAN, 12500)


# ------------------------------------------------------------------ worked examples: refunds


def test_partial_bhd_refund_returns_125_fils_of_the_percentage_part():
    fee = payment_fee(BHD_PLAN, bhd(12500))
    fee_return = refund_fee_return(BHD_PLAN, bhd(5000), bhd(12500), fee)
    # 412 charged - 100 fixed = 312 collected as percentage (less than the exact 312.5).
    assert fee_return.returnable == 312
    assert fee_return.exact == Fraction("124.8")
    assert fee_return.returned == 125
    assert fee_return.refunded == 5000


def test_partial_refunds_telescope_to_the_single_refund():
    fee = payment_fee(BHD_PLAN, bhd(12500))
    first = refund_fee_return(BHD_PLAN, bhd(2500), bhd(12500), fee)
    second = refund_fee_return(BHD_PLAN, bhd(2500), bhd(12500), fee, already_refunded=bhd(2500))
    assert (first.exact, first.returned) == (Fraction("62.4"), 62)
    assert (second.exact, second.returned) == (Fraction("62.4"), 63)  # 124.8 -> 125, less 62


def test_full_refund_returns_the_percentage_part_never_the_fixed_part():
    fee = payment_fee(BHD_PLAN, bhd(13500))  # 438 charged
    rest = refund_fee_return(BHD_PLAN, bhd(13500), bhd(13500), fee)
    assert (rest.returnable, rest.returned) == (Fraction("337.5"), 338)  # min(337.5, 438 - 100)
    assert fee.charged - rest.returned == 100


def test_refund_at_the_minimum_returns_the_percentage_part_not_the_top_up():
    fee = payment_fee(BHD_PLAN, bhd(4000))  # 250 = minimum; 100 percentage + 100 fixed + 50 top-up
    assert refund_fee_return(BHD_PLAN, bhd(4000), bhd(4000), fee).returned == 100


def test_refund_at_the_maximum_returns_only_what_was_collected_as_percentage():
    line = FeeScheduleLine(currency="USD", percent=Decimal("2.9"), fixed=30, maximum=500)
    fee = payment_fee(line, Money(100000, "USD"))  # 2930 capped at 500
    fee_return = refund_fee_return(line, Money(50000, "USD"), Money(100000, "USD"), fee)
    assert (fee_return.returnable, fee_return.returned) == (470, 235)


def test_refund_returns_nothing_when_the_plan_keeps_the_percentage():
    line = FeeScheduleLine(currency="BHD", percent=Decimal("2.5"), fixed=100, refund_returns_percentage=False)
    fee = payment_fee(line, bhd(12500))
    fee_return = refund_fee_return(line, bhd(12500), bhd(12500), fee)
    assert (fee_return.returnable, fee_return.exact, fee_return.returned) == (0, 0, 0)


def test_refund_when_the_maximum_is_below_the_fixed_part_returns_nothing():
    line = FeeScheduleLine(currency="BHD", percent=Decimal(5), fixed=300, maximum=200)
    fee = payment_fee(line, bhd(10000))
    assert fee.charged == 200
    assert refund_fee_return(line, bhd(10000), bhd(10000), fee).returned == 0


def test_refund_refusals():
    fee = payment_fee(BHD_PLAN, bhd(12500))
    with pytest.raises(RefundExceedsPayment, match="refunds of 12501 would exceed the payment of 12500"):
        refund_fee_return(BHD_PLAN, bhd(501), bhd(12500), fee, already_refunded=bhd(12000))
    with pytest.raises(FeeError, match="original_fee was charged on 12500 BHD"):
        refund_fee_return(BHD_PLAN, bhd(1), bhd(12000), fee)
    with pytest.raises(FeeError, match="not charged under this fee schedule line"):
        refund_fee_return(dataclasses.replace(BHD_PLAN, fixed=0), bhd(1), bhd(12500), fee)
    with pytest.raises(FeeError, match="not charged under this fee schedule line"):
        refund_fee_return(dataclasses.replace(BHD_PLAN, rounding=decimal.ROUND_UP), bhd(1), bhd(12500), fee)
    with pytest.raises(CurrencyMismatch):
        refund_fee_return(BHD_PLAN, Money(1, "USD"), bhd(12500), fee)
    with pytest.raises(FeeError, match="must not be negative"):
        refund_fee_return(BHD_PLAN, bhd(-1), bhd(12500), fee)


# ------------------------------------------------------------------ worked examples: rounding differences


def _posted_and_exact(charges, returns=()):
    """Per currency: what the fees add up to as posted (each rounded once), and unrounded."""
    days: dict[str, tuple[int, Fraction]] = {}
    for fee in charges:
        posted, exact = days.get(fee.currency, (0, Fraction(0)))
        days[fee.currency] = (posted + fee.charged, exact + Fraction(fee.exact))
    for fee_return in returns:
        posted, exact = days.get(fee_return.currency, (0, Fraction(0)))
        days[fee_return.currency] = (posted - fee_return.returned, exact - fee_return.exact)
    return days


def test_bhd_day_of_the_module_docstring_has_no_rounding_difference():
    charges = [payment_fee(BHD_PLAN, bhd(amount)) for amount in (12500, 13500, 4000)]
    fee_return = refund_fee_return(BHD_PLAN, bhd(5000), bhd(12500), charges[0])
    posted, exact = _posted_and_exact(charges, [fee_return])["BHD"]
    assert posted == 975  # 412 + 438 + 250 - 125
    assert exact == Fraction("975.2")
    assert rounding_difference(posted, exact) == 0


def test_two_ties_rounded_up_leave_one_fil_to_post():
    half_up = FeeScheduleLine(currency="BHD", percent=Decimal("2.5"), fixed=100, rounding=decimal.ROUND_HALF_UP)
    charges = [payment_fee(half_up, bhd(12500)), payment_fee(half_up, bhd(13500))]  # 413 + 438
    posted, exact = _posted_and_exact(charges)["BHD"]
    assert (posted, exact, rounding_difference(posted, exact, decimal.ROUND_HALF_UP)) == (851, 850, -1)


def test_rounding_differences_are_per_currency():
    usd = FeeScheduleLine(currency="USD", percent=Decimal("2.9"), fixed=30)
    jpy = FeeScheduleLine(currency="JPY", percent=Decimal("3.6"))
    charges = [
        payment_fee(usd, Money(1999, "USD")),  # 87.971 -> 88
        payment_fee(usd, Money(2999, "USD")),  # 116.971 -> 117
        payment_fee(jpy, Money(1001, "JPY")),  # 36.036 -> 36
        payment_fee(jpy, Money(1013, "JPY")),  # 36.468 -> 36
        payment_fee(BHD_PLAN, bhd(12500)),  # 412.5 -> 412
    ]
    days = _posted_and_exact(charges)
    assert sorted(days) == ["BHD", "JPY", "USD"]
    assert days["USD"] == (205, Fraction("204.942")) and rounding_difference(*days["USD"]) == 0
    assert days["JPY"] == (72, Fraction("72.504")) and rounding_difference(*days["JPY"]) == 1
    assert days["BHD"][0] == 412 and rounding_difference(*days["BHD"]) == 0


# ------------------------------------------------------------------ worked examples: reserve


def test_bhd_reserve_of_ten_percent_rounds_half_even():
    hold = reserve_hold(bhd(24025), Decimal(10))
    assert (hold.exact, hold.held, hold.currency, hold.net) == (Decimal("2402.5"), 2402, "BHD", 24025)
    assert reserve_hold(bhd(24035), Decimal(10)).held == 2404
    assert reserve_hold(bhd(24025), Decimal(10), rounding=decimal.ROUND_CEILING).held == 2403


def test_reserve_on_a_zero_or_negative_net_holds_nothing():
    assert reserve_hold(bhd(0), Decimal(10)).held == 0
    assert reserve_hold(bhd(-4000), Decimal(10)).held == 0
    assert reserve_hold(Money(999, "JPY"), Decimal("7.5")).held == 75  # 74.925


def test_reserve_refusals():
    with pytest.raises(InvalidFeeSchedule, match="between 0 and 100"):
        reserve_hold(bhd(1), Decimal(101))
    with pytest.raises(InvalidFeeSchedule, match="ROUND_"):
        reserve_hold(bhd(1), Decimal(1), rounding="up")
    with pytest.raises(TypeError, match="must be Money"):
        reserve_hold(1, Decimal(1))


def test_reserve_held_on_a_thursday_releases_over_the_bahrain_weekend():
    business_dates = bahrain_business_dates(date(2026, 12, 1), 10)  # Tue 1 Dec ...
    assert date(2026, 12, 4) not in business_dates  # Friday
    release = reserve_release(date(2026, 12, 3), 2402, hold_days=2, business_dates=business_dates)
    assert release == ReserveRelease(release_date=date(2026, 12, 7), amount=2402)  # Sun 6, Mon 7


def test_reserve_release_skips_a_holiday_missing_from_the_dates():
    business_dates = [date(2026, 12, 15), date(2026, 12, 17), date(2026, 12, 20)]  # 16 Dec: National Day
    assert reserve_release(date(2026, 12, 15), 1, hold_days=1, business_dates=business_dates).release_date == date(
        2026, 12, 17
    )


def test_reserve_release_refusals():
    business_dates = bahrain_business_dates(date(2026, 12, 1), 3)  # 1, 2, 3 Dec
    with pytest.raises(ReserveCalendarTooShort, match="end on 2026-12-03, before the 3th business date after"):
        reserve_release(date(2026, 12, 1), 1, hold_days=3, business_dates=business_dates)
    with pytest.raises(ReserveCalendarTooShort, match="2026-12-04 is not one of the business dates"):
        reserve_release(date(2026, 12, 4), 1, hold_days=1, business_dates=business_dates)
    with pytest.raises(ReserveCalendarTooShort, match="strictly increasing"):
        reserve_release(date(2026, 12, 1), 1, hold_days=1, business_dates=[date(2026, 12, 1)] * 3)
    with pytest.raises(InvalidFeeSchedule, match="hold_days"):
        reserve_release(date(2026, 12, 1), 1, hold_days=0, business_dates=business_dates)
    with pytest.raises(InvalidFeeSchedule, match="amount"):
        reserve_release(date(2026, 12, 1), -1, hold_days=1, business_dates=business_dates)


# ------------------------------------------------------------------ worked examples: netting


def test_bhd_merchant_day_of_the_module_docstring():
    day = merchant_day_net(
        gross=bhd(30000),
        refunds=bhd(5000),
        fees_charged=bhd(1100),
        fees_returned=bhd(125),
        reserve_held=bhd(2402),
        reserve_released=bhd(1000),
    )
    assert (day.fees, day.net) == (975, 22623)


def test_a_day_of_refunds_nets_negative():
    day = merchant_day_net(gross=bhd(1000), refunds=bhd(5000), fees_charged=bhd(250), fees_returned=bhd(100),
                           reserve_held=bhd(0), reserve_released=bhd(0))
    assert (day.fees, day.net) == (150, -4150)


def test_merchant_day_net_refusals():
    amounts = {
        "gross": bhd(1),
        "refunds": bhd(0),
        "fees_charged": bhd(0),
        "fees_returned": bhd(0),
        "reserve_held": bhd(0),
        "reserve_released": bhd(0),
    }
    with pytest.raises(FeeError, match="refunds must not be negative"):
        merchant_day_net(**{**amounts, "refunds": bhd(-1)})
    with pytest.raises(CurrencyMismatch):
        merchant_day_net(**{**amounts, "reserve_released": Money(0, "USD")})


# ------------------------------------------------------------------ properties

CURRENCIES = ("BHD", "JPY", "USD")
rounding_modes = st.sampled_from(sorted(ROUNDING_MODES))
percents = st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False)
minor = st.integers(0, 10**9)
amounts = st.one_of(st.integers(0, 10**6), st.integers(0, 10**15))


@st.composite
def fee_lines(draw, currency=None):
    minimum = draw(st.none() | st.integers(0, 10**6))
    maximum = draw(st.none() | st.integers(0, 10**7))
    if minimum is not None and maximum is not None and minimum > maximum:
        minimum, maximum = maximum, minimum
    return FeeScheduleLine(
        currency=currency or draw(st.sampled_from(CURRENCIES)),
        percent=draw(percents),
        fixed=draw(st.integers(0, 10**5)),
        minimum=minimum,
        maximum=maximum,
        rounding=draw(rounding_modes),
        refund_returns_percentage=draw(st.booleans()),
    )


def exact_fee(line: FeeScheduleLine, amount: int) -> Fraction:
    """The contract's fee, independently of the module: rational arithmetic, clamp, no rounding."""
    value = Fraction(amount) * Fraction(line.percent) / 100 + line.fixed
    if line.minimum is not None:
        value = max(value, Fraction(line.minimum))
    if line.maximum is not None:
        value = min(value, Fraction(line.maximum))
    return value


@PROPERTY
@given(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12, places=4),
        # Ties, and last digits 0 and 5 for ROUND_05UP.
        st.integers(-(10**6), 10**6).map(lambda halves: Decimal(halves) / 2),
    ),
    rounding_modes,
)
def test_round_to_minor_agrees_with_decimal_quantize(value, rounding):
    assert round_to_minor(value, rounding) == int(value.quantize(Decimal(1), rounding=rounding))


@pytest.mark.parametrize("rounding", sorted(ROUNDING_MODES))
@pytest.mark.parametrize(
    "text",
    ["5.5", "4.5", "2.5", "0.5", "10.1", "14.9", "15.2", "0.0001", "7", "-5.5", "-2.5", "-15.2", "-10.1", "-0.0001"],
)
def test_round_to_minor_agrees_with_decimal_quantize_on_ties_and_05up_digits(text, rounding):
    value = Decimal(text)
    assert round_to_minor(value, rounding) == int(value.quantize(Decimal(1), rounding=rounding))


@PROPERTY
@given(st.fractions(min_value=-(10**9), max_value=10**9, max_denominator=10**6), rounding_modes)
def test_round_to_minor_of_a_fraction_is_a_neighbouring_whole_unit(value, rounding):
    rounded = round_to_minor(value, rounding)
    assert abs(rounded - value) < 1
    if rounding in HALF_MODES:
        assert abs(rounded - value) <= Fraction(1, 2)
    if rounding == decimal.ROUND_FLOOR:
        assert rounded <= value
    if rounding == decimal.ROUND_CEILING:
        assert rounded >= value


def test_round_to_minor_refuses_an_unknown_mode():
    with pytest.raises(InvalidFeeSchedule, match="ROUND_"):
        round_to_minor(Fraction(1, 2), "ROUND_BANKERS")


@PROPERTY
@given(fee_lines(), amounts, amounts)
def test_fee_is_exact_rounded_once_bounded_and_monotone(line, first, second):
    low, high = sorted((first, second))
    fee_low = payment_fee(line, Money(low, line.currency))
    fee_high = payment_fee(line, Money(high, line.currency))
    assert Fraction(fee_low.exact) == exact_fee(line, low)
    assert fee_low.charged == round_to_minor(exact_fee(line, low), line.rounding)
    assert abs(fee_low.charged - fee_low.exact) < 1
    for fee in (fee_low, fee_high):
        assert fee.charged >= 0
        if line.minimum is not None:
            assert fee.charged >= line.minimum
        if line.maximum is not None:
            assert fee.charged <= line.maximum
    assert fee_low.charged <= fee_high.charged


@PROPERTY
@given(fee_lines(), st.integers(1, 10**12), st.lists(st.integers(0, 10**6), min_size=1, max_size=6), st.data())
def test_refunds_never_return_more_than_charged_nor_the_fixed_part(line, original, weights, data):
    assume(sum(weights) > 0)
    # Refund the payment (or a drawn part of it) in pieces proportional to weights.
    refunded_total = data.draw(st.integers(0, original))
    pieces = Money(refunded_total, line.currency).allocate(weights)
    fee = payment_fee(line, Money(original, line.currency))
    already = 0
    returned_total = 0
    for piece in pieces:
        fee_return = refund_fee_return(
            line, piece, Money(original, line.currency), fee, already_refunded=Money(already, line.currency)
        )
        assert fee_return.returned >= 0
        already += piece.amount
        returned_total += fee_return.returned
        assert returned_total <= max(fee.charged - line.fixed, 0)
        assert returned_total <= fee.charged
    single = refund_fee_return(line, Money(refunded_total, line.currency), Money(original, line.currency), fee)
    assert returned_total == single.returned
    expected_returnable = (
        max(Fraction(0), min(Fraction(fee.percentage_part), Fraction(fee.charged - line.fixed)))
        if line.refund_returns_percentage
        else Fraction(0)
    )
    assert single.returnable == expected_returnable
    assert single.exact == expected_returnable * refunded_total / original
    if not line.refund_returns_percentage:
        assert returned_total == 0


@st.composite
def fee_days(draw):
    """A day of captures in several currencies, some of them refunded in part or in full."""
    charges, returns = [], []
    for _ in range(draw(st.integers(0, 25))):
        line = draw(fee_lines())
        amount = draw(st.integers(1, 10**9))
        fee = payment_fee(line, Money(amount, line.currency))
        charges.append(fee)
        if draw(st.booleans()):
            refunded = draw(st.integers(0, amount))
            returns.append(refund_fee_return(line, Money(refunded, line.currency), Money(amount, line.currency), fee))
    return charges, returns


@PROPERTY
@given(fee_days(), rounding_modes)
def test_posted_fees_are_the_exact_sum_rounded_once_plus_the_posted_difference(day, rounding):
    charges, returns = day
    for currency, (posted, exact) in _posted_and_exact(charges, returns).items():
        assert posted == sum(fee.charged for fee in charges if fee.currency == currency) - sum(
            fee_return.returned for fee_return in returns if fee_return.currency == currency
        )
        exact_rounded = round_to_minor(exact, rounding)
        # Fee revenue, after the per-payment fees and the posted difference, is the exact sum rounded once.
        assert posted + rounding_difference(posted, exact, rounding) == exact_rounded
        assert abs(exact - exact_rounded) < 1
        if rounding in HALF_MODES:
            assert abs(exact - exact_rounded) <= Fraction(1, 2)


@PROPERTY
@given(st.integers(-(10**15), 10**15), percents, rounding_modes, st.sampled_from(CURRENCIES))
def test_reserve_is_the_percentage_of_a_positive_net_rounded_once(net, percent, rounding, currency):
    hold = reserve_hold(Money(net, currency), percent, rounding=rounding)
    exact = Fraction(max(net, 0)) * Fraction(percent) / 100
    assert Fraction(hold.exact) == exact
    assert hold.held == round_to_minor(exact, rounding)
    assert 0 <= hold.held <= max(net, 0)


@PROPERTY
@given(
    st.lists(st.tuples(st.integers(0, 29), st.integers(0, 10**9)), max_size=20),
    st.integers(1, 10),
    st.sets(st.integers(0, 60), max_size=8),
)
def test_every_held_amount_is_released_once_on_the_nth_business_date_after(holds, hold_days, holidays):
    start = date(2026, 11, 29)
    business_dates = [
        day
        for day in (start + timedelta(days=offset) for offset in range(120))
        if day.weekday() not in (4, 5) and (day - start).days not in holidays
    ]
    dated_holds = [(business_dates[index], amount) for index, amount in holds]
    for held_on, amount in dated_holds:
        release = reserve_release(held_on, amount, hold_days=hold_days, business_dates=business_dates)
        assert release.amount == amount
        assert business_dates.index(release.release_date) - business_dates.index(held_on) == hold_days


money_totals = st.integers(0, 10**12)


@st.composite
def merchant_days(draw):
    return {
        "gross": draw(money_totals),
        "refunds": draw(money_totals),
        "fees_charged": draw(money_totals),
        "fees_returned": draw(money_totals),
        "reserve_held": draw(money_totals),
        "reserve_released": draw(money_totals),
    }


@PROPERTY
@given(st.sampled_from(CURRENCIES), st.lists(merchant_days(), min_size=1, max_size=10))
def test_net_is_exact(currency, days):
    for totals in days:
        day = merchant_day_net(**{name: Money(amount, currency) for name, amount in totals.items()})
        fees_after_returns = totals["fees_charged"] - totals["fees_returned"]
        assert day.fees == fees_after_returns
        assert day.net == (
            totals["gross"]
            - totals["refunds"]
            - fees_after_returns
            - totals["reserve_held"]
            + totals["reserve_released"]
        )


@PROPERTY
@given(st.sampled_from(CURRENCIES), st.lists(st.tuples(fee_lines(), st.integers(1, 10**9)), max_size=15), percents)
def test_a_merchant_day_balances_from_captures_to_payout(currency, captures, reserve_percent):
    """Gross captures end up exactly as net + fees + reserve, to the minor unit."""
    captures = [(dataclasses.replace(line, currency=currency), amount) for line, amount in captures]
    charged = [payment_fee(line, Money(amount, currency)) for line, amount in captures]
    gross = sum(amount for _, amount in captures)
    fees_charged = sum(fee.charged for fee in charged)
    hold = reserve_hold(Money(gross - fees_charged, currency), reserve_percent)
    day = merchant_day_net(
        gross=Money(gross, currency),
        refunds=Money(0, currency),
        fees_charged=Money(fees_charged, currency),
        fees_returned=Money(0, currency),
        reserve_held=Money(hold.held, currency),
        reserve_released=Money(0, currency),
    )
    assert day.net + fees_charged + hold.held == gross
