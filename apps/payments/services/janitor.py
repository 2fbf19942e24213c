"""The janitor (every few seconds, from beat): it finds out what the connectors did when they
did not say, and finishes what a crash left half done.

- unknown and pending attempts that are due: ``inquire`` with the attempt's idempotency key;
- attempts still ``processing`` long after any task could be calling the connector (a task
  dead-lettered mid-call): unknown, then asked like the others;
- payments still ``processing`` with no call in flight for as long (their message was
  dead-lettered between attempts): payments.process is sent again;
- captures, voids and refunds still pending, and payouts in transit by an instant rail that did
  not answer: the same call again, with the same idempotency key, so the connector acts at most
  once.

Each due row is leased for LEASE first (a short transaction, ``skip_locked``), so janitors
running at the same time share the work, and a janitor that dies mid-run loses nothing.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Exists, Model, OuterRef

from apps.core import clock
from apps.payments.models import Capture, Payment, PaymentAttempt, Payout, Refund
from apps.payments.services.captures import capture_execute
from apps.payments.services.payments import (
    STALE_PROCESSING,
    payment_attempt_inquire,
    payment_attempt_interrupted_mark,
    payment_redrive,
)
from apps.payments.services.payout_rail import payout_rail_send
from apps.payments.services.refunds import refund_execute

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 100


@dataclass
class JanitorReport:
    inquired: int = 0
    interrupted: int = 0
    redriven: int = 0
    captures: int = 0
    refunds: int = 0
    payouts: int = 0
    errors: list[str] = field(default_factory=list)


def _lease(model: type[Model], *, due_field: str, pending: dict[str, Any], limit: int) -> list[UUID]:
    """Take up to ``limit`` due rows for LEASE: their due time moves past it meanwhile."""
    now = clock.now()
    with transaction.atomic():
        due = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(**pending, **{f"{due_field}__lte": now})
            .order_by(due_field)
            .values_list("pk", flat=True)[:limit]
        )
        model.objects.filter(pk__in=due).update(**{due_field: now + LEASE})
    return due


def _each(ids: list[UUID], work: Callable[[UUID], Any], report: JanitorReport, what: str) -> int:
    done = 0
    for row_id in ids:
        try:
            work(row_id)
        except Exception as error:  # one broken row must not stop the others
            logger.exception("payments janitor: %s failed", what, extra={"row_id": str(row_id)})
            report.errors.append(f"{what} {row_id}: {error!r}"[:300])
        else:
            done += 1
    return done


def payments_janitor(*, limit: int = BATCH) -> JanitorReport:
    """One round of the janitor. Returns what it did."""
    report = JanitorReport()
    stale = list(
        PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PROCESSING,
                                      updated_at__lt=clock.now() - STALE_PROCESSING)
        .values_list("pk", flat=True)[:limit]
    )
    report.interrupted = sum(
        1 for attempt_id in stale if payment_attempt_interrupted_mark(attempt_id=attempt_id)
    )
    in_flight = PaymentAttempt.objects.filter(payment=OuterRef("pk"), status__in=PaymentAttempt.IN_FLIGHT)
    stuck = list(
        Payment.objects.filter(status=Payment.Status.PROCESSING, updated_at__lt=clock.now() - STALE_PROCESSING)
        .exclude(Exists(in_flight)).values_list("pk", flat=True)[:limit]
    )
    report.redriven = sum(1 for payment_id in stuck if payment_redrive(payment_id=payment_id))
    attempts = _lease(PaymentAttempt, due_field="next_inquiry_at",
                      pending={"status__in": PaymentAttempt.UNRESOLVED}, limit=limit)
    report.inquired = _each(attempts, lambda pk: payment_attempt_inquire(attempt_id=pk), report, "inquiry")
    captures = _lease(Capture, due_field="next_attempt_at", pending={"status": Capture.Status.PENDING}, limit=limit)
    report.captures = _each(captures, lambda pk: capture_execute(capture_id=pk), report, "capture")
    refunds = _lease(Refund, due_field="next_attempt_at", pending={"status": Refund.Status.PENDING}, limit=limit)
    report.refunds = _each(refunds, lambda pk: refund_execute(refund_id=pk), report, "refund")
    payouts = _lease(Payout, due_field="next_attempt_at", pending={"status": Payout.Status.IN_TRANSIT}, limit=limit)
    report.payouts = _each(payouts, lambda pk: payout_rail_send(payout_id=pk), report, "payout")
    return report
