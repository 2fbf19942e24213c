"""Rates in DRF's notation (``100/second``, ``5000/hour``), parsed once for every user of them."""

import re

_PERIODS = {
    "s": 1, "sec": 1, "second": 1,
    "m": 60, "min": 60, "minute": 60,
    "h": 3600, "hour": 3600,
    "d": 86400, "day": 86400,
}
# ASCII digits only (str.isdigit() also takes "²" and "٣"); the period is one of _PERIODS exactly.
_RATE = re.compile(r"(?P<count>[0-9]+)/(?P<period>[a-z]+)")


def parse_rate(rate: str) -> tuple[int, int]:
    """``"100/second"`` → (100, 1): N requests per s|sec|second, m|min|minute, h|hour or d|day.

    Raises ValueError for anything else, N below 1 included.
    """
    match = _RATE.fullmatch(rate)
    if match is None or int(match["count"]) < 1 or match["period"] not in _PERIODS:
        raise ValueError(f"{rate!r} is not a rate like '100/second' or '5000/hour'")
    return int(match["count"]), _PERIODS[match["period"]]
