"""Settlement's Celery entry points, on the settlement queue."""

from datetime import date

from celery import shared_task

from apps.core.actors import Actor
from apps.settlement import services


# Under RabbitMQ's consumer timeout (30 minutes): a longer run is resumed by the next beat.
@shared_task(name="settlement.runs_due", soft_time_limit=1500, time_limit=1650, acks_late=True)
def runs_due() -> list[str]:
    """Every few minutes, from beat: settle each currency's last closed business date, or resume
    a run a dead worker left running."""
    runs = services.settlement_runs_due(actor=Actor.system("settlement.runs_due"))
    return [services.run_public_id(run) for run in runs]


@shared_task(name="settlement.run", soft_time_limit=1500, time_limit=1650, acks_late=True)
def run(*, business_date: str, currency: str, requested_by: str) -> str:
    """Resume a run a person asked for (the admin's "Resume" on a failed run)."""
    settled = services.settlement_run(business_date=date.fromisoformat(business_date), currency=currency,
                                      actor=Actor.system(f"settlement.run for {requested_by}"))
    return settled.status


@shared_task(name="settlement.payout_files", soft_time_limit=300, time_limit=330, acks_late=True)
def payout_files() -> list[str]:
    """Every few minutes, from beat: send the payouts that became releasable (hold passed, approved)."""
    files = services.payout_files_due(actor=Actor.system("settlement.payout_files"))
    return [payout_file.message_id for payout_file in files]
