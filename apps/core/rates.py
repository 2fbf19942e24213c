"""Rates in DRF's notation (``100/second``, ``5000/hour``), parsed once for every user of them."""

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"100/second"`` → (100, 1). Raises ValueError for anything else."""
    count, _, period = rate.partition("/")
    if not count.isdigit() or int(count) < 1 or not period or period[0] not in _PERIODS:
        raise ValueError(f"{rate!r} is not a rate like '100/second' or '5000/hour'")
    return int(count), _PERIODS[period[0]]
