"""A market's public holidays as the ``holidays`` package knows them, for seeding a calendar.

The package marks Islamic holidays it computes (not yet announced) with " (estimated)": they are
seeded as estimated, for staff to move once the date is announced. Plain Python.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import holidays

ESTIMATED_SUFFIX = " (estimated)"


@dataclass(frozen=True, slots=True)
class SeededHoliday:
    date: date
    name: str
    estimated: bool


def public_holidays(country: str, years: Iterable[int]) -> list[SeededHoliday]:
    """``country``'s public holidays in ``years``, one per date (the package joins two holidays of
    one date with "; "), in date order."""
    found = holidays.country_holidays(country, years=list(years), language="en_US", islamic_show_estimated=True)
    seeded = []
    for day, name in sorted(found.items()):
        parts = [part.strip() for part in name.split(";")]
        estimated = any(part.endswith(ESTIMATED_SUFFIX) for part in parts)
        plain = "; ".join(dict.fromkeys(part.removesuffix(ESTIMATED_SUFFIX) for part in parts))
        seeded.append(SeededHoliday(day, plain, estimated))
    return seeded
