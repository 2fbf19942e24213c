"""FX arithmetic: one half-even rounding to the buy (or sell) currency's minor units, and rounding
differences carried until they make a whole minor unit, never lost or invented."""

from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.treasury.domain import fx


def test_the_client_rate_is_the_mid_less_the_spread_exactly():
    assert fx.client_rate(mid=Decimal("2.6595744681"), spread=Decimal("0.0025")) == Decimal("2.652925531929750")


def test_bhd_3_places_to_usd_2_places():
    # 100.000 BHD at 2.65 USD per BHD less 25 bp: 265.00 x 0.9975 = 264.3375 USD -> 264.34 USD;
    # fincore pays a quarter of a cent more than the exact amount (a difference of -0.25 cent).
    rate = fx.client_rate(mid=Decimal("2.65"), spread=Decimal("0.0025"))
    amounts = fx.amounts_for_sell(sell_amount=100000, sell_currency="BHD", buy_currency="USD", rate=rate)
    assert amounts == fx.Amounts(100000, 26434, "USD", Decimal("-0.25"))


def test_usd_2_places_to_bhd_3_places():
    # 10.00 USD at 0.376 BHD = 3.760 BHD exactly: no rounding difference.
    amounts = fx.amounts_for_sell(sell_amount=1000, sell_currency="USD", buy_currency="BHD", rate=Decimal("0.376"))
    assert amounts == fx.Amounts(1000, 3760, "BHD", Decimal(0))


def test_bhd_3_places_to_jpy_0_places():
    # 1.234 BHD at 395.5 JPY per BHD = 488.047 JPY -> 488 yen; fincore keeps 0.047 yen.
    amounts = fx.amounts_for_sell(sell_amount=1234, sell_currency="BHD", buy_currency="JPY", rate=Decimal("395.5"))
    assert amounts == fx.Amounts(1234, 488, "JPY", Decimal("0.047"))


def test_jpy_0_places_to_bhd_3_places():
    # 1000 JPY at 0.0025284450 BHD per yen = 2.528445 BHD -> 2.528; fincore keeps 0.445 fils.
    amounts = fx.amounts_for_sell(sell_amount=1000, sell_currency="JPY", buy_currency="BHD",
                                  rate=Decimal("0.0025284450"))
    assert amounts == fx.Amounts(1000, 2528, "BHD", Decimal("0.445"))


def test_half_a_minor_unit_rounds_to_even():
    # 0.05 USD at 0.01 BHD per USD is 0.5 fils -> 0 (even); 0.15 USD is 1.5 fils -> 2 (even).
    down = fx.amounts_for_sell(sell_amount=5, sell_currency="USD", buy_currency="BHD", rate=Decimal("0.0100"))
    up = fx.amounts_for_sell(sell_amount=15, sell_currency="USD", buy_currency="BHD", rate=Decimal("0.0100"))
    assert (down.buy_amount, down.rounding_difference) == (0, Decimal("0.5"))
    assert (up.buy_amount, up.rounding_difference) == (2, Decimal("-0.5"))


def test_buying_an_exact_amount_rounds_the_sell_side_once():
    # 250.00 USD at 2.65 USD per BHD: 94.339622... BHD -> 94.340 BHD, fincore keeps the excess.
    amounts = fx.amounts_for_buy(buy_amount=25000, sell_currency="BHD", buy_currency="USD", rate=Decimal("2.65"))
    assert (amounts.sell_amount, amounts.buy_amount, amounts.rounding_currency) == (94340, 25000, "BHD")
    # 25000 / 2.65 = 9433.9622... cents of a dinar's worth = 94339.6226... fils, rounded once to 94340.
    assert amounts.rounding_difference == Decimal("0.3773584905660377358490566037735849056604")


def test_the_inverse_rate_has_the_ten_places_of_a_published_rate():
    assert fx.inverse_rate(Decimal("0.376")) == Decimal("2.6595744681")


def test_the_carry_posts_exactly_one_unit_when_it_crosses():
    first = fx.carry_add(remainder=Decimal(0), difference=Decimal("0.6"))
    assert first == fx.Carry(0, Decimal("0.6"))
    second = fx.carry_add(remainder=first.remainder, difference=Decimal("0.5"))
    assert second == fx.Carry(1, Decimal("0.1"))
    back = fx.carry_add(remainder=Decimal("-0.7"), difference=Decimal("-0.4"))
    assert back == fx.Carry(-1, Decimal("-0.1"))


_CURRENCIES = st.sampled_from(["BHD", "USD", "JPY", "KWD", "EUR"])


@settings(max_examples=200, deadline=None)
@given(
    conversions=st.lists(st.tuples(
        st.integers(min_value=1, max_value=10**12),
        st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=10),
        st.decimals(min_value=Decimal(0), max_value=Decimal("0.05"), places=4),
        _CURRENCIES, _CURRENCIES, st.booleans(),
    ), min_size=1, max_size=60),
)
def test_posted_units_plus_the_remainder_equal_the_sum_of_exact_differences(conversions):
    with localcontext(prec=100):
        _carry_many(conversions)


def _carry_many(conversions):
    remainder, posted, exact_total = Decimal(0), 0, Decimal(0)
    for amount, mid, spread, sell, buy, fixed_sell in conversions:
        rate = fx.client_rate(mid=mid, spread=spread)
        if fixed_sell:
            amounts = fx.amounts_for_sell(sell_amount=amount, sell_currency=sell, buy_currency=buy, rate=rate)
        else:
            amounts = fx.amounts_for_buy(buy_amount=amount, sell_currency=sell, buy_currency=buy, rate=rate)
        assert abs(amounts.rounding_difference) <= Decimal("0.5")
        carry = fx.carry_add(remainder=remainder, difference=amounts.rounding_difference)
        assert abs(carry.remainder) < 1
        remainder, posted = carry.remainder, posted + carry.units
        exact_total += amounts.rounding_difference
    assert posted + remainder == exact_total
