"""ISO 3166-1 alpha-2 country codes, read from the IANA time zone database's iso3166.tab.

The ``tzdata`` package (a pinned dependency) ships the table, so fincore keeps no copy of it.
"""

from functools import cache
from importlib import resources


@cache
def countries() -> dict[str, str]:
    """Code → English name, e.g. ``{"BH": "Bahrain", ...}``."""
    table = resources.files("tzdata.zoneinfo").joinpath("iso3166.tab").read_text(encoding="utf-8")
    entries = (line.split("\t", 1) for line in table.splitlines() if line and not line.startswith("#"))
    return {code: name.strip() for code, name in entries}


def is_country(code: object) -> bool:
    return isinstance(code, str) and code in countries()
