"""parse_rate: exactly ``N/s|sec|second|m|min|minute|h|hour|d|day``, N at least 1."""

import pytest

from apps.core.rates import parse_rate


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [
        ("1/s", (1, 1)),
        ("100/sec", (100, 1)),
        ("100/second", (100, 1)),
        ("30/m", (30, 60)),
        ("30/min", (30, 60)),
        ("30/minute", (30, 60)),
        ("5000/h", (5000, 3600)),
        ("5000/hour", (5000, 3600)),
        ("2/d", (2, 86400)),
        ("100000/day", (100000, 86400)),
        ("1000000/second", (1000000, 1)),
    ],
)
def test_a_rate_is_a_count_per_period(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize(
    "rate",
    [
        "100/sx",
        "100/seconds",
        "100/hours",
        "100/mins",
        "100/minutes",
        "100/hr",
        "100/days",
        "100/sexagesimal",
        "100/month",
        "100/y",
        "100/S",
        "100/Second",
        "100/",
        "/second",
        "100",
        "second",
        "",
        "0/second",
        "-1/second",
        "+1/second",
        "1.5/second",
        "1e3/second",
        "²/second",
        "١٠٠/second",
        " 100/second",
        "100/second ",
        "100 /second",
        "100/ second",
        "100/second\n",
        "100//second",
        "100/second/2",
        "100/1",
    ],
)
def test_anything_else_is_refused(rate):
    with pytest.raises(ValueError) as refused:
        parse_rate(rate)

    assert str(refused.value) == f"{rate!r} is not a rate like '100/second' or '5000/hour'"
