"""Expectations' tasks: a payout sent by file and a sweep between nostros (from the outbox), the
beat sweep behind them, the connector settlements of each closed business date, and the SLA (all
from beat, on the reconciliation queue)."""

from typing import Any

from celery import shared_task

from apps.reconciliation.services import expectations as services


@shared_task(name="reconciliation.expect_payout", acks_late=True)
def expect_payout(*, event: dict[str, Any]) -> bool:
    """``payments.payout_updated``: a payout that left in a payment file is expected (a
    redelivery makes nothing twice). Returns whether the event was about such a payout."""
    return services.payout_expect_event(event=event) is not None


@shared_task(name="reconciliation.expect_sweep", acks_late=True)
def expect_sweep(*, event: dict[str, Any]) -> int:
    """``treasury.sweep_sent``: both sides of the sweep are expected. Returns how many were new."""
    return services.sweep_expect_event(event=event)


@shared_task(name="reconciliation.expect_sent_payouts", soft_time_limit=50, time_limit=60, expires=240,
             acks_late=True)
def expect_sent_payouts() -> int:
    """From beat: payouts sent by file, and sweeps sent, in the last days the events missed. Returns
    how many expectations it made."""
    return services.payouts_expect() + services.sweeps_expect()


@shared_task(name="reconciliation.expect_connector_settlements", soft_time_limit=50, time_limit=60, expires=3000,
             acks_late=True)
def expect_connector_settlements() -> int:
    """From beat, hourly: each connector's settlement of the last closed business dates."""
    return services.connector_settlements_expect()


@shared_task(name="reconciliation.expectations_mark_missing", soft_time_limit=50, time_limit=60, expires=3000,
             acks_late=True)
def expectations_mark_missing() -> int:
    """From beat, hourly: expectations past their SLA become missing. Returns how many."""
    return services.expectations_mark_missing()
