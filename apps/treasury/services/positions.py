"""Low liquidity: the check that raises and clears alerts from the positions' forecast, an
operator's acknowledgement of one, and a nostro's threshold.

The check reads every position first (no transaction), then, for each nostro with a threshold,
locks that nostro's row and decides in a short transaction: at most one open alert per nostro (a
partial unique constraint besides the lock), so the check is safe to run twice at once and to retry.
"""

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.db import transaction

from apps.audit.services import audit_record
from apps.core import clock
from apps.core.actors import Actor
from apps.core.exceptions import FincoreError
from apps.events.outbox import services as outbox_services
from apps.treasury.models import LiquidityAlert, NostroAccount
from apps.treasury.selectors import positions as positions_selectors
from apps.treasury.selectors.positions import NostroPosition

LOW_LIQUIDITY = "treasury.low_liquidity"
LOW_LIQUIDITY_CLEARED = "treasury.low_liquidity_cleared"
CHECK_ACTOR = Actor.system("treasury.positions_check")


class ThresholdInvalid(FincoreError):
    code = "treasury_threshold_invalid"
    title = "A low-liquidity threshold is a whole number of minor units, zero or more"


class LiquidityAlertAcknowledged(FincoreError):
    code = "treasury_liquidity_alert_acknowledged"
    title = "The alert is already acknowledged"
    status = 409


@dataclass(frozen=True, slots=True)
class PositionsCheck:
    raised: list[str] = field(default_factory=list)  # nostro codes
    cleared: list[str] = field(default_factory=list)


def _alert_state(alert: LiquidityAlert) -> dict[str, Any]:
    return {"nostro": alert.nostro.code, "currency": alert.currency, "forecast_date": alert.forecast_date.isoformat(),
            "forecast_balance": alert.forecast_balance, "threshold": alert.threshold}


def _publish(event_type: str, alert: LiquidityAlert) -> None:
    outbox_services.event_publish(event_type=event_type, data={"alert_id": str(alert.pk), **_alert_state(alert),
                                                               "cleared": alert.cleared_at is not None})


def _check_one(position: NostroPosition) -> str:
    """Raise or clear ``position``'s nostro's alert; returns "raised", "cleared" or ""."""
    crossing = position.first_below_threshold
    with transaction.atomic():
        nostro = NostroAccount.objects.select_for_update().get(code=position.code)
        # The threshold may have changed since the forecast was read: compare with the row now.
        if nostro.low_liquidity_threshold != position.threshold:
            return ""
        open_alert = LiquidityAlert.objects.filter(nostro=nostro, cleared_at__isnull=True).first()
        if crossing is not None and open_alert is None:
            alert = LiquidityAlert.objects.create(
                nostro=nostro, currency=nostro.currency, forecast_date=crossing.date,
                forecast_balance=crossing.closing, threshold=nostro.low_liquidity_threshold, raised_at=clock.now())
            audit_record(actor=CHECK_ACTOR, action=LOW_LIQUIDITY, object_type="treasury.liquidityalert",
                         object_id=str(alert.pk), after=_alert_state(alert))
            _publish(LOW_LIQUIDITY, alert)
            return "raised"
        if crossing is None and open_alert is not None:
            open_alert.cleared_at = clock.now()
            open_alert.save(update_fields=["cleared_at"])
            lowest = position.lowest
            audit_record(actor=CHECK_ACTOR, action=LOW_LIQUIDITY_CLEARED, object_type="treasury.liquidityalert",
                         object_id=str(open_alert.pk), before=_alert_state(open_alert),
                         after={"lowest_forecast_date": lowest.date.isoformat(),
                                "lowest_forecast_balance": lowest.closing, "threshold": position.threshold})
            _publish(LOW_LIQUIDITY_CLEARED, open_alert)
            return "cleared"
    return ""


def positions_check() -> PositionsCheck:
    """Compare every nostro's 7-business-day forecast with its threshold. Invariant: a nostro whose
    forecast closes below its threshold on some day has exactly one open alert, raised once with
    one journal event and one ``treasury.low_liquidity`` on the outbox; when no day is below it
    (or the threshold is removed) the open alert is cleared, journaled and announced. Running it
    again changes nothing. Raises forecast.NoBusinessCalendar (a currency without a calendar)."""
    outcome = PositionsCheck()
    for currency in positions_selectors.positions().currencies:
        for position in currency.nostros:
            done = _check_one(position)
            if done == "raised":
                outcome.raised.append(position.code)
            elif done == "cleared":
                outcome.cleared.append(position.code)
    return outcome


def liquidity_alert_acknowledge(*, alert_id: UUID, actor: Actor, reason: str) -> LiquidityAlert:
    """A treasury operator has seen the alert (and says what they do about it). It stays open until
    the forecast recovers. Raises LiquidityAlertAcknowledged."""
    with transaction.atomic():
        alert = LiquidityAlert.objects.select_for_update().select_related("nostro").get(pk=alert_id)
        if alert.acknowledged_at is not None:
            raise LiquidityAlertAcknowledged(f"Acknowledged by {alert.acknowledged_by} at {alert.acknowledged_at}.")
        alert.acknowledged_at, alert.acknowledged_by, alert.acknowledgement = clock.now(), actor.label, reason[:500]
        alert.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement"])
        audit_record(actor=actor, action="treasury.low_liquidity_acknowledged", object_type="treasury.liquidityalert",
                     object_id=str(alert.pk), after=_alert_state(alert), reason=reason)
    return alert


def nostro_threshold_set(*, code: str, threshold: int | None, actor: Actor, reason: str) -> NostroAccount:
    """Set (or remove, with None) the nostro's low-liquidity threshold, in minor units; journaled
    with the reason. The next check raises or clears its alert. Raises ThresholdInvalid."""
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0):
        raise ThresholdInvalid(f"{threshold!r} is not a threshold in minor units.")
    with transaction.atomic():
        nostro = NostroAccount.objects.select_for_update().get(code=code)
        before = nostro.low_liquidity_threshold
        if before == threshold:
            return nostro
        nostro.low_liquidity_threshold = threshold
        nostro.save(update_fields=["low_liquidity_threshold"])
        audit_record(actor=actor, action="treasury.low_liquidity_threshold_set", object_type="treasury.nostroaccount",
                     object_id=str(nostro.pk), before={"code": code, "low_liquidity_threshold": before},
                     after={"code": code, "low_liquidity_threshold": threshold}, reason=reason)
    return nostro
