"""What treasury forecasts from, handed to it by the apps above it.

Treasury sits below settlement and beside payments, so it cannot read their tables. The apps that
own the flows register, from their ``AppConfig.ready``, a **business-day provider** (settlement's
calendar: which business dates come next in a currency) and **flow sources** (payouts scheduled but
not sent, ...): each a plain function returning :class:`ExpectedFlow` rows. The compliance hold
handlers (``apps.compliance.alerts.holds``) follow the same pattern.

Plain Python: no Django, so the positions selector is the only reader and tests use the real
registration.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

# Kinds of flow, as the positions page labels them.
PAYOUT_SCHEDULED = "payout_scheduled"  # created, not yet in a payout file: leaves on its execution date
PAYOUT_SENT = "payout_sent"  # in a payout file, the bank has not confirmed: leaves the nostro any moment
CONNECTOR_SETTLEMENT = "connector_settlement"  # what connectors owe fincore, paid into the payout nostro

KIND_LABELS = {
    PAYOUT_SCHEDULED: "Payouts scheduled, not sent",
    PAYOUT_SENT: "Payouts sent, not confirmed",
    CONNECTOR_SETTLEMENT: "Expected connector settlements",
}


@dataclass(frozen=True, slots=True)
class ExpectedFlow:
    """Money expected to move at one of fincore's nostros on a business date: ``amount`` in minor
    units, positive in, negative out. ``nostro_code`` None: the currency's payout nostro."""

    nostro_code: str | None
    currency: str
    date: date
    amount: int
    kind: str
    label: str


# (currency, first business date, last business date) -> flows expected in that window; a flow
# already due before the window (overdue) is dated on its first day.
FlowSource = Callable[[str, date, date], list[ExpectedFlow]]
# (currency, an instant, how many) -> the business date the instant belongs to and those after it.
BusinessDays = Callable[[str, datetime, int], list[date]]


class NoBusinessCalendar(RuntimeError):
    """No business-day provider is registered: settlement's app is not installed (a set-up error)."""


_sources: dict[str, FlowSource] = {}
_business_days: list[BusinessDays] = []


def flow_source_register(name: str, source: FlowSource) -> None:
    known = _sources.get(name)
    if known is not None and known.__qualname__ != source.__qualname__:
        raise ValueError(f"the flow source {name!r} is already registered")
    _sources[name] = source


def business_days_register(provider: BusinessDays) -> None:
    if _business_days and _business_days[0].__qualname__ != provider.__qualname__:
        raise ValueError("a business-day provider is already registered")
    _business_days[:] = [provider]


def flow_sources() -> list[FlowSource]:
    return [_sources[name] for name in sorted(_sources)]


def business_days(currency: str, at: datetime, count: int) -> list[date]:
    """Raises NoBusinessCalendar when nobody registered a provider."""
    if not _business_days:
        raise NoBusinessCalendar("No business calendar is registered with treasury (is apps.settlement installed?).")
    return _business_days[0](currency, at, count)
