"""Reads of FX: the current rate of each pair, its age, quotes and conversions."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from apps.core import clock
from apps.treasury.domain import fx as fx_math
from apps.treasury.models import FxConversion, FxRate


@dataclass(frozen=True, slots=True)
class PairRate:
    """The rate that prices selling ``sell_currency`` for ``buy_currency``: the published row of that
    direction, or (``inverted``) the other direction's row with ``mid = 1/published``."""

    rate: FxRate
    mid: Decimal
    inverted: bool


def rate_is_stale(rate: FxRate, *, now: datetime | None = None) -> bool:
    """Older than its maximum age: it quotes no new conversion."""
    return rate_age_seconds(rate, now=now) > rate.max_age_seconds


def rate_age_seconds(rate: FxRate, *, now: datetime | None = None) -> int:
    return int(((now or clock.now()) - rate.as_of).total_seconds())


def pair_rate(*, sell_currency: str, buy_currency: str) -> PairRate | None:
    """The current rate for the pair: the newest ``as_of`` of the direction published as
    ``sell,buy``; only when that direction is not published at all, the newest of ``buy,sell``
    inverted. None when neither is."""
    direct = FxRate.objects.filter(base_currency=sell_currency, quote_currency=buy_currency).order_by("-as_of").first()
    if direct is not None:
        return PairRate(direct, direct.mid_rate, inverted=False)
    other = FxRate.objects.filter(base_currency=buy_currency, quote_currency=sell_currency).order_by("-as_of").first()
    if other is not None:
        return PairRate(other, fx_math.inverse_rate(other.mid_rate), inverted=True)
    return None


def current_rates() -> list[FxRate]:
    """The current (newest) rate of every published pair, by pair."""
    return list(FxRate.objects.order_by("base_currency", "quote_currency", "-as_of")
                .distinct("base_currency", "quote_currency"))


def fx_conversions(*, merchant_id: Any, livemode: bool) -> QuerySet[FxConversion]:
    """A merchant's conversions in one mode, newest first, each with its quote (one query)."""
    return FxConversion.objects.filter(merchant_id=merchant_id, livemode=livemode).select_related("quote")


def fx_conversion_get(*, merchant_id: Any, livemode: bool, conversion_id: UUID) -> FxConversion | None:
    return fx_conversions(merchant_id=merchant_id, livemode=livemode).filter(pk=conversion_id).first()
