"""Webhook events and their deliveries: recorded with the change they announce, then sent,
signed, by the ``webhooks`` workers, and retried from the database's schedule.

- :func:`webhook_event_emit` runs in the transaction of the change: the event, one delivery per
  subscribed endpoint and a ``webhooks.deliver`` message per delivery (through the outbox)
  commit with it, or not at all.
- :func:`webhook_delivery_send` (the task) leases the delivery, so two copies of a message never
  both send; POSTs with no transaction open; records the attempt; on failure sets
  ``next_attempt_at`` by exponential backoff with jitter, for up to RETRY_FOR. An attempt whose
  worker died before recording it counts as failed once its lease has run out.
- :func:`webhook_deliveries_dispatch_due` (beat, every 10 s) hands due deliveries to workers.
"""

import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q

from apps.audit.services import audit_record
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.events.outbox.services import TaskMessage, outbox_enqueue_many
from apps.events.webhooks import event_types, signing, transport
from apps.events.webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookEvent
from apps.events.webhooks.services.endpoints import (
    DELIVERY_PREFIX,
    ENDPOINT_PREFIX,
    EVENT_PREFIX,
    WebhookEndpointDisabled,
    webhook_endpoint_failure_note,
    webhook_endpoint_signing_secrets,
    webhook_endpoint_success_note,
)

DELIVER_TASK = "webhooks.deliver"
QUEUE = "webhooks"
# Manual redeliveries go ahead of the automatic traffic of the queue.
PRIORITY = 5
REDELIVERY_PRIORITY = 7

# Retries: 30 s, 1 min, 2 min, ... doubling up to 6 h between attempts, each shortened by up to
# a quarter at random (so receivers that failed together are not retried together), for 3 days.
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=6)
RETRY_JITTER_SHARE = 0.25
RETRY_FOR = timedelta(days=3)
# A worker sending a delivery holds it this long (the task's hard time limit is shorter).
LEASE = timedelta(seconds=60)
# A delivery handed to a worker is handed again if nothing came of it after this long (a
# message can wait behind a backlog; a duplicate is harmless, the lease and attempt count
# deduplicate it).
REDISPATCH_AFTER = timedelta(minutes=2)
LOST_ATTEMPT = "no outcome recorded: the worker sending it stopped (it may have reached the endpoint)"


# --- events -----------------------------------------------------------------------------------

def _enqueue(deliveries: list[WebhookDelivery], also: Sequence[TaskMessage] = ()) -> None:
    """A webhooks.deliver message per delivery, and ``also``, in one outbox write; manual ones
    go first."""
    outbox_enqueue_many(messages=[
        *(TaskMessage(task=DELIVER_TASK, kwargs={"delivery_id": str(delivery.id), "attempt": delivery.attempts},
                      queue=QUEUE, priority=REDELIVERY_PRIORITY if delivery.manual else PRIORITY)
          for delivery in deliveries),
        *also,
    ])


def webhook_event_emit(*, merchant_id: uuid.UUID, livemode: bool, event_type: str, data: dict[str, Any],
                       also: Sequence[TaskMessage] = ()) -> str:
    """Record an event for the merchant and schedule its delivery to every enabled endpoint of that
    merchant and mode subscribed to ``event_type`` (or ``*``). Returns the event's public id.

    ``data`` is ``{"object": {...}}``: the object as the API shows it, of the kind the catalogue
    (``event_types``) says ``event_type`` carries. ``also``: other outbox messages of the same
    change (its events for fincore's own subscribers), written with the deliveries' in one outbox
    write.

    Must run inside the transaction of the change it announces (like ``outbox_enqueue``): a
    rollback discards the event and its deliveries too. Raises RuntimeError outside a
    transaction, ValueError for a type not in the catalogue or data that does not carry its object."""
    if not connection.in_atomic_block:
        raise RuntimeError("webhook_event_emit must run inside the transaction of the change it announces")
    catalogued = event_types.BY_NAME.get(event_type)
    if catalogued is None:
        raise ValueError(f"event type {event_type!r} is not in the catalogue (apps/events/webhooks/event_types.py)")
    carried = data.get("object") if isinstance(data, dict) else None
    if not isinstance(carried, dict) or carried.get("object") != catalogued.object:
        raise ValueError(f"the data.object of a {event_type} event is a {catalogued.object} (its \"object\" says so)")
    now = clock.now()
    # Through JSON once, so what is stored is what every delivery and the API will show.
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    event = WebhookEvent.objects.create(
        merchant_id=merchant_id, livemode=livemode, type=event_type, data=data, created_at=now
    )
    endpoints = WebhookEndpoint.objects.filter(
        merchant_id=merchant_id, livemode=livemode, enabled=True
    ).filter(Q(events__contains=[event_type]) | Q(events__contains=[event_types.ALL_EVENTS])).order_by("id")
    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now + REDISPATCH_AFTER, created_at=now)
        for endpoint in endpoints
    ])
    _enqueue(deliveries, also)
    return ids.encode(EVENT_PREFIX, event.id)


def webhook_event_redeliver(
    *, event_id: Any, actor: Actor, merchant_id: Any = None, livemode: bool | None = None,
    endpoint_id: Any = None, reason: str = "",
) -> list[WebhookDelivery]:
    """Send an event again: to one endpoint, or to every endpoint it was delivered to (or, if it
    went to none, to every endpoint subscribed to it now). Each send is a new delivery, retried
    like any other; the original ones stay as they are.

    Raises WebhookEvent.DoesNotExist, WebhookEndpoint.DoesNotExist, WebhookEndpointDisabled."""
    with transaction.atomic():
        events = WebhookEvent.objects.all()
        if merchant_id is not None:
            events = events.filter(merchant_id=merchant_id)
        if livemode is not None:
            events = events.filter(livemode=livemode)
        event = events.get(pk=event_id)
        scope = WebhookEndpoint.objects.filter(
            merchant_id=event.merchant_id, livemode=event.livemode, deleted_at__isnull=True
        )
        if endpoint_id is not None:
            endpoint = scope.get(pk=endpoint_id)
            if not endpoint.enabled:
                raise WebhookEndpointDisabled(f"{endpoint} is disabled: {endpoint.disabled_reason}")
            targets = [endpoint]
        else:
            delivered_to = scope.filter(deliveries__event=event).distinct()
            if delivered_to.exists():
                # Only where it went: an endpoint subscribed since never asked for this event.
                candidates = delivered_to
            else:
                candidates = scope.filter(
                    Q(events__contains=[event.type]) | Q(events__contains=[event_types.ALL_EVENTS])
                )
            targets = list(candidates.filter(enabled=True).order_by("id"))
            if not targets:
                raise WebhookEndpointDisabled("No enabled endpoint receives this event.")
        now = clock.now()
        deliveries = WebhookDelivery.objects.bulk_create([
            WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=now + REDISPATCH_AFTER, created_at=now,
                            manual=True, requested_by=actor.label)
            for endpoint in targets
        ])
        _enqueue(deliveries)
        audit_record(
            actor=actor, action="webhook_event.redelivered", object_type="events.webhookevent",
            object_id=ids.encode(EVENT_PREFIX, event.id),
            after={"endpoints": [ids.encode(ENDPOINT_PREFIX, d.endpoint_id) for d in deliveries],
                   "deliveries": [ids.encode(DELIVERY_PREFIX, d.id) for d in deliveries]},
            reason=reason, merchant_id=str(event.merchant_id),
        )
    return deliveries


def webhook_event_envelope(event: WebhookEvent) -> dict[str, Any]:
    """What an endpoint receives, and what the API shows: ``{id, type, created, livemode, data}``."""
    return {
        "id": ids.encode(EVENT_PREFIX, event.id),
        "type": event.type,
        # As the API writes every time (DRF's ISO 8601, in the platform's time zone).
        "created": clock.isoformat(event.created_at),
        "livemode": event.livemode,
        "data": event.data,
    }


# --- delivering -------------------------------------------------------------------------------

def retry_delay(*, attempts: int, jitter: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: RETRY_BASE doubled each time up to
    RETRY_CAP, shortened by ``jitter`` (0..1) times RETRY_JITTER_SHARE."""
    if attempts < 1 or not 0 <= jitter <= 1:
        raise ValueError("attempts counts from 1; jitter is within 0..1")
    exponent = min(attempts - 1, 20)
    delay = min(RETRY_BASE * (2**exponent), RETRY_CAP)
    return delay * (1 - RETRY_JITTER_SHARE * jitter)


@dataclass(frozen=True)
class _Claim:
    delivery_id: uuid.UUID
    token: uuid.UUID
    number: int
    url: str
    livemode: bool
    body: bytes
    secrets: list[str]


def _claim(*, delivery_id: Any, attempt: int | None, now: datetime) -> _Claim | str:
    """Lease the delivery for one attempt, or say why not (a short transaction)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
            .select_related("event", "endpoint").filter(pk=delivery_id).first()
        )
        if delivery is None:
            return "locked or missing"
        if delivery.status != WebhookDelivery.Status.PENDING:
            return f"already {delivery.status}"
        if attempt is not None and delivery.attempts != attempt:
            return f"attempt {attempt} already made"
        if delivery.leased_until is not None and delivery.leased_until > now:
            return "being sent by another worker"
        endpoint = delivery.endpoint
        if delivery.lease_token is not None:
            # A worker leased it and never came back (killed, or lost its database): that
            # attempt may or may not have reached the receiver. It counts as failed, so the
            # schedule and the 3-day limit still hold however often workers die on it.
            outcome = _settle(
                delivery, number=delivery.attempts + 1, url=endpoint.url, requested_at=delivery.leased_until - LEASE,
                now=now,
                response=transport.WebhookResponse(
                    status=None, body_excerpt="", error=LOST_ATTEMPT, address="",
                    duration_ms=int(LEASE.total_seconds() * 1000),
                ),
            )
            if delivery.status != WebhookDelivery.Status.PENDING:
                return f"previous attempt lost; {outcome}"
            endpoint.refresh_from_db()
        if not endpoint.enabled:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.failed_at = now
            delivery.next_attempt_at = None
            delivery.last_error = f"Not sent: the endpoint is {endpoint.status} ({endpoint.disabled_reason})"[:500]
            delivery.save(update_fields=["status", "failed_at", "next_attempt_at", "last_error"])
            return "endpoint disabled"
        delivery.leased_until = now + LEASE
        delivery.lease_token = uuid.uuid4()
        delivery.save(update_fields=["leased_until", "lease_token"])
    body = json.dumps(webhook_event_envelope(delivery.event), separators=(",", ":")).encode()
    return _Claim(
        delivery_id=delivery.id, token=delivery.lease_token, number=delivery.attempts + 1, url=endpoint.url,
        livemode=endpoint.livemode, body=body, secrets=webhook_endpoint_signing_secrets(endpoint=endpoint, at=now),
    )


def webhook_delivery_send(*, delivery_id: Any, attempt: int | None = None) -> str:
    """Make one attempt at a delivery: lease it, POST the signed event (no transaction open), record
    the attempt, then mark the delivery succeeded, schedule its retry, or give it up after
    RETRY_FOR; an endpoint failing without a success for DISABLE_AFTER is disabled.

    ``attempt`` is how many attempts the message's sender had seen: a copy of a message for an
    attempt already made does nothing. Returns what happened, for the task's log."""
    claim = _claim(delivery_id=delivery_id, attempt=attempt, now=clock.now())
    if isinstance(claim, str):
        return claim
    requested_at = clock.now()
    timestamp = int(requested_at.timestamp())
    headers = {
        signing.SIGNATURE_HEADER: signing.signature_header(
            secrets=claim.secrets, timestamp=timestamp, body=claim.body
        ),
        "Fincore-Delivery": ids.encode(DELIVERY_PREFIX, claim.delivery_id),
        "Fincore-Attempt": str(claim.number),
    }
    try:
        response = transport.post(
            claim.url, body=claim.body, headers=headers, require_https=claim.livemode,
            allow_private=settings.FINCORE_WEBHOOK_ALLOW_PRIVATE_NETWORKS,
        )
    except transport.UrlRefused as refused:
        response = transport.WebhookResponse(
            status=None, body_excerpt="", error=f"not sent: {refused}"[:500], duration_ms=0, address=""
        )
    return _record(claim=claim, response=response, requested_at=requested_at)


def _record(*, claim: _Claim, response: transport.WebhookResponse, requested_at: datetime) -> str:
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update(of=("self",), no_key=True).get(pk=claim.delivery_id)
        if delivery.lease_token != claim.token:
            # Our lease ran out and another worker took over: its attempts are the ones that count.
            return "lease lost"
        return _settle(delivery, number=claim.number, url=claim.url, requested_at=requested_at, response=response,
                       now=clock.now())


def _settle(delivery: WebhookDelivery, *, number: int, url: str, requested_at: datetime,
            response: transport.WebhookResponse, now: datetime) -> str:
    """Store attempt ``number`` of ``delivery`` (locked by the caller) and what follows from it:
    success, the next attempt's time, or failure for good past RETRY_FOR."""
    WebhookDeliveryAttempt.objects.create(
        delivery=delivery, number=number, requested_at=requested_at, duration_ms=response.duration_ms,
        url=url, response_status=response.status, error=response.error,
        response_body=response.body_excerpt, succeeded=response.succeeded,
    )
    delivery.attempts = number
    delivery.leased_until = None
    delivery.lease_token = None
    delivery.last_response_status = response.status
    delivery.last_error = response.error
    # FOR NO KEY UPDATE: it does not wait for transactions that are inserting deliveries to
    # this endpoint (their foreign key takes a KEY SHARE lock on it), e.g. a payment emitting.
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=delivery.endpoint_id)
    if response.succeeded:
        delivery.status = WebhookDelivery.Status.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        webhook_endpoint_success_note(endpoint=endpoint)
        outcome = "succeeded"
    else:
        give_up_at = delivery.created_at + RETRY_FOR
        if now >= give_up_at:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.failed_at = now
            delivery.next_attempt_at = None
            outcome = "failed for good"
        else:
            delay = retry_delay(attempts=number, jitter=random.random())
            delivery.next_attempt_at = min(now + delay, give_up_at)
            outcome = f"failed; next attempt at {delivery.next_attempt_at.isoformat()}"
        webhook_endpoint_failure_note(endpoint=endpoint, now=now)
    delivery.save()
    return outcome


def webhook_deliveries_dispatch_due(*, batch_size: int = 500) -> int:
    """Hand every delivery whose next attempt is due to a worker (through the outbox). Runs every
    few seconds from beat; concurrent runs split the work. Returns how many were handed out."""
    now = clock.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
            .order_by("next_attempt_at")[:batch_size]
        )
        for delivery in due:
            delivery.next_attempt_at = now + REDISPATCH_AFTER
        _enqueue(due)
        WebhookDelivery.objects.bulk_update(due, ["next_attempt_at"])
    return len(due)


# How long an event stays listed, inspectable and redeliverable (Stripe keeps 30 days): long
# enough for a merchant to notice a gap at month end and replay it.
EVENT_RETENTION = timedelta(days=90)


def webhook_events_purge(*, retention: timedelta = EVENT_RETENTION, batch_size: int = 1000) -> int:
    """Forget events older than ``retention`` whose deliveries are all final, with their
    deliveries and attempts (nightly, from beat). An event still being retried is kept until it
    ends. Returns how many events were forgotten."""
    # Event ids are UUIDv7s: "created before the cutoff" is a range of the primary key's index.
    oldest_kept = ids.uuid7_floor(clock.now() - retention)
    forgotten = 0
    while True:
        with transaction.atomic():
            event_ids = list(
                WebhookEvent.objects.filter(pk__lt=oldest_kept)
                .exclude(deliveries__status=WebhookDelivery.Status.PENDING)
                .values_list("pk", flat=True)[:batch_size]
            )
            WebhookDeliveryAttempt.objects.filter(delivery__event_id__in=event_ids).delete()
            WebhookDelivery.objects.filter(event_id__in=event_ids).delete()
            WebhookEvent.objects.filter(pk__in=event_ids).delete()
        forgotten += len(event_ids)
        if len(event_ids) < batch_size:
            return forgotten
