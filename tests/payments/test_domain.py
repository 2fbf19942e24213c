"""Pure rules: card numbers are recognised wherever they hide; IBANs are checked; the janitor's
backoff grows to hourly."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from apps.payments import domain


def _with_check_digit(body: str) -> str:
    for digit in "0123456789":
        if domain.luhn_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable")


card_numbers = st.builds(
    lambda first, rest: _with_check_digit(first + rest),
    st.sampled_from("23456"),
    st.integers(min_value=11, max_value=17).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
)


@given(card_numbers, st.sampled_from(["", " ", "-"]), st.text(alphabet="abc xyz:", max_size=10))
def test_a_card_number_is_found_however_it_is_written(number, separator, prefix):
    written = separator.join(number[i:i + 4] for i in range(0, len(number), 4))
    assert domain.looks_like_card_number(f"{prefix}{written} thanks")
    assert domain.contains_card_number({"note": [prefix, {"nested": written}]})


def test_tokens_references_and_short_or_invalid_numbers_are_not_card_numbers():
    for text in ("tok_success", "order-1042", "4242", "1234567890123456789012", "4242424242424241",
                 "BH67BMAG00001299123456", "+973 1700 0000"):
        assert not domain.looks_like_card_number(text), text
    assert domain.looks_like_card_number("4242424242424242")
    assert domain.looks_like_card_number("4111-1111-1111-1111")


def test_bic_check():
    assert domain.bic_valid("BMAGBHBM") and domain.bic_valid("BMAGBHBMXXX")
    assert not domain.bic_valid("BMAG")


def test_the_inquiry_schedule_backs_off_to_hourly():
    delays = [domain.next_inquiry_delay(n) for n in range(10)]
    assert delays[:3] == [timedelta(seconds=2), timedelta(seconds=5), timedelta(seconds=15)]
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(hours=1)
