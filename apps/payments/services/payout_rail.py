"""Instant payouts: a releasable payout at or below its currency's instant payout limit leaves by an
instant rail connector instead of the payment file, when routing finds one (enabled, breaker
closed, of the payout's mode).

    payout_route                routing's decision recorded on the payout; the rail: in one
                                transaction the hold posted (``in_transit``, from the connector's
                                clearing account, its end-to-end id as the file reference and the
                                rail's idempotency key) and the payments.payout_rail_send message
    payouts_route_releasable    payout_route for each releasable payout of a currency and mode (the
                                payout file calls it before it takes what is left)
    payout_rail_send            (the task) the rail called outside any transaction, keyed by the
                                payout: approved -> payout_paid, declined -> payout_failed with the
                                rail's code; no definite answer (unknown, a technical error): the
                                same call, same key, at ``next_attempt_at`` (the janitor)

A payout whose rail call got no definite answer is never failed by fincore on its own: the rail may
have credited the beneficiary, and failing it would give the merchant the money a second time. It
stays in transit, asked again hourly, until the rail answers (or staff record what the rail says
with payout_paid / payout_failed).
"""

import logging
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction

from apps.core import clock, ids
from apps.core.actors import Actor
from apps.events.outbox import services as events_services
from apps.payments import connectors, domain, locks, selectors
from apps.payments.exceptions import PayoutNotFound
from apps.payments.models import Payout
from apps.payments.services.common import QUEUE, SYSTEM, touch
from apps.payments.services.payouts import (
    _check_releasable,
    failure_reason,
    payout_failed_apply,
    payout_paid_apply,
    payouts_leave,
)
from apps.routing import data as routing_data

logger = logging.getLogger(__name__)

Status = Payout.Status
PAYOUT_RAIL_TASK = "payments.payout_rail_send"
Outcome = routing_data.Outcome


def _description(payout: Payout) -> routing_data.PayoutDescription:
    return routing_data.PayoutDescription(
        payout_id=payout.pk, merchant_id=payout.merchant_id, amount=payout.amount, currency=payout.currency,
        country=payout.iban[:2], livemode=payout.livemode,
    )


def _payout(payout_id: Any) -> Payout:
    if (payout := selectors.payout_get_any(payout_id)) is None:
        raise PayoutNotFound(f"No payout {payout_id!r}.")
    return payout


def payout_route(*, payout_id: Any, actor: Actor) -> Payout:
    """Decide a releasable pending payout's rail and record the decision (``routing``). The
    instant rail: its hold is posted and it is ``in_transit`` from the connector (``nostro`` and
    ``connector`` its name, ``file_reference`` its end-to-end id), with payments.payout_rail_send
    in the same transaction: the rail is called only after this commits. The file: it stays
    pending for the next payout file. A payout no longer pending is returned as it is.
    Raises PayoutNotFound, PayoutNotReleasable (held, or waiting for its approval)."""
    return _route(_payout(payout_id), actor=actor)


def _route(payout: Payout, *, actor: Actor) -> Payout:
    if payout.status != Status.PENDING:
        return payout
    # Routing reads connector health (Redis) before any row is locked.
    decision = connectors.payout_decide(description=_description(payout))
    with transaction.atomic():
        [payout] = locks.payouts_lock([payout.pk])
        if payout.status != Status.PENDING:
            return payout
        now = clock.now()
        _check_releasable(payout, now)
        payout.routing = {**decision.as_dict(), "decided_at": clock.isoformat(now)}
        if not decision.candidates:
            touch(payout, "routing")
            return payout
        payout.connector = decision.candidates[0]
        payouts_leave([payout], nostro=payout.connector, file_reference=payout.end_to_end_id, now=now, actor=actor,
                      fields=("routing", "connector"))
        events_services.outbox_enqueue(task=PAYOUT_RAIL_TASK, kwargs={"payout_id": str(payout.pk)}, queue=QUEUE,
                                       priority=settings.FINCORE_PAYMENT_PRIORITIES["instant"])
    return payout


def payouts_route_releasable(*, currency: str, livemode: bool, actor: Actor) -> list[Payout]:
    """payout_route for each payout of ``currency`` and mode releasable now; returns those that left
    by an instant rail. A payout routing fails for stays pending, for the file (logged)."""
    sent = []
    for payout in selectors.payouts_releasable(currency=currency, livemode=livemode, now=clock.now()):
        try:
            routed = _route(payout, actor=actor)  # read just now: not read again before its lock
        except Exception:  # one payout routing cannot place goes in the file, as before instant payouts
            logger.exception("payout routing failed: left for the file", extra={"payout_id": str(payout.pk)})
            continue
        if routed.connector and routed.status != Status.PENDING:
            sent.append(routed)
    return sent


def payout_rail_send(*, payout_id: UUID) -> Payout:
    """Call the rail for a payout in transit by it, outside any transaction, with the payout's
    idempotency key (its end-to-end id: the rail credits it once however often it is called), and
    record the answer. Done already (paid, failed): returned as it is, nothing called."""
    payout = _payout(payout_id)
    if payout.status != Status.IN_TRANSIT or not payout.connector:
        return payout
    result = connectors.call(
        connector=payout.connector, operation=routing_data.Operation.PAYOUT, idempotency_key=payout.end_to_end_id,
        amount=payout.amount, currency=payout.currency, iban=payout.iban, bic=payout.bic,
        beneficiary_name=payout.beneficiary_name,
    )
    return payout_rail_result_record(payout_id=payout.pk, result=result)


def payout_rail_result_record(*, payout_id: UUID, result: routing_data.ConnectorResult) -> Payout:
    """Apply the rail's answer, in one transaction: approved -> ``paid`` (payouts in transit -> the
    rail's clearing account); declined -> ``failed`` with the rail's code (payouts in transit ->
    merchant available); anything else: asked again (same call, same key) at ``next_attempt_at``."""
    with transaction.atomic():
        [payout] = locks.payouts_lock([payout_id])
        if payout.status != Status.IN_TRANSIT or not payout.connector:
            return payout
        now = clock.now()
        if result.outcome not in (Outcome.APPROVED, Outcome.DECLINED):
            payout.connector_calls += 1
            payout.next_attempt_at = now + domain.next_inquiry_delay(payout.connector_calls - 1)
            touch(payout, "connector_calls", "next_attempt_at")
            logger.warning("instant payout: no definite answer, asking again", extra={
                "payout_id": str(payout.pk), "connector": payout.connector, "outcome": result.outcome.value,
                "error_code": result.error_code, "next_attempt_at": payout.next_attempt_at.isoformat()})
            return payout
        payout.next_attempt_at = None
        payout.connector_reference = result.reference[:255]
        # Applied to the row this transaction holds, saved with the answer's fields.
        answered = ("next_attempt_at", "connector_reference")
        if result.outcome == Outcome.APPROVED:
            payout_paid_apply(payout, actor=SYSTEM, fields=answered)
        else:
            code, message = failure_reason(
                (result.error_code or "declined")[:64],
                result.message or f"Declined by {payout.connector} ({ids.encode('po', payout.pk)}).")
            payout_failed_apply(payout, code=code, message=message, actor=SYSTEM, fields=answered)
    return payout
