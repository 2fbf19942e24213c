"""A person asks for a failed settlement run to be resumed (the admin's "Resume"): the request is
journaled and the run is handed to a settlement worker through the outbox, in one transaction, so
a request is never lost nor sent without its journal row. The worker resumes it as any run is
resumed (``settlement_run``: its advisory lock lets one process run it at a time, so a second
request for the same run finds it held, or completed, and does nothing)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.services import audit_record
from apps.core.actors import Actor
from apps.events.outbox import services as outbox_services
from apps.settlement.exceptions import RunResumeReasonRequired, SettlementRunNotResumable, SettlementRunUnknown
from apps.settlement.models import SettlementRun
from apps.settlement.services.runs import run_public_id

# The task's name, not the task: services never import tasks (apps/settlement/tasks.py defines it).
RUN_TASK = "settlement.run"
RUN_QUEUE = "settlement"


def settlement_run_resume_request(*, run_id: Any, actor: Actor, reason: str) -> SettlementRun:
    """Ask a settlement worker to resume the failed run ``run_id``: journaled
    (``settlement.run_resume_requested``, who and why) and enqueued (``settlement.run``) together.

    Invariant: only a failed run is resumed from here (a running one is being run, a completed one
    is done). Raises SettlementRunUnknown, SettlementRunNotResumable, RunResumeReasonRequired.
    Nothing is written then.
    """
    if not reason.strip():
        raise RunResumeReasonRequired()
    with transaction.atomic():
        try:
            run = SettlementRun.objects.select_for_update().filter(pk=run_id).first()
        except (ValueError, ValidationError):
            run = None
        if run is None:
            raise SettlementRunUnknown(f"There is no settlement run {run_id}.")
        if run.status != SettlementRun.Status.FAILED:
            raise SettlementRunNotResumable(
                f"The {run.currency} run of {run.business_date:%Y-%m-%d} is {run.get_status_display().lower()}: "
                "only a failed run is resumed.")
        audit_record(actor=actor, action="settlement.run_resume_requested", object_type="settlement.settlementrun",
                     object_id=run_public_id(run), reason=reason,
                     after={"business_date": run.business_date.isoformat(), "currency": run.currency,
                            "attempts": run.attempts, "failure": run.failure})
        outbox_services.outbox_enqueue(
            task=RUN_TASK, queue=RUN_QUEUE,
            kwargs={"business_date": run.business_date.isoformat(), "currency": run.currency,
                    "requested_by": actor.label})
    return run
