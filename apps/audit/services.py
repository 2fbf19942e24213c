"""Writing the audit journal and sealing it into the hash chain."""

import json
import logging
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from apps.audit import chain, selectors
from apps.audit.models import AuditEvent, AuditSeal, PendingSeal
from apps.audit.signing import event_signature, seal_hash
from apps.core import clock, context
from apps.core.actors import Actor

logger = logging.getLogger(__name__)

# Any constant unique to this job: pg_try_advisory_xact_lock takes a bigint.
_SEALER_LOCK = 0x_A0D1_75EA


def _jsonb_number(text: str) -> int | float:
    """A JSON number as jsonb writes it back: exactly and positionally, so ``1e+16`` returns as the
    integer 10000000000000000, and ``-0.0`` as ``0.0``."""
    if "e+" in text:
        return int(Decimal(text))
    number = float(text)
    return 0.0 if number == 0 else number


def _json_safe(value: Any) -> Any:
    """What PostgreSQL's jsonb will give back, so the signature can be checked after a reload."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder), parse_float=_jsonb_number)


def audit_record(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    merchant_id: str | None = None,
) -> AuditEvent:
    """Append one business event to the journal, in the caller's transaction.

    Who acts is ``actor``; the request id and client address come from the request or task
    being served, and ``reason`` defaults to the one a staff user gave for the change.
    Takes no lock: sealing happens later, in order, in :func:`audit_seal_pending`.
    """
    event = AuditEvent(
        occurred_at=clock.now(),
        actor_type=actor.type.value,
        actor_id=actor.id,
        actor_label=actor.label,
        merchant_id=str(merchant_id or actor.merchant_id or ""),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_json_safe(before),
        after=_json_safe(after),
        reason=reason or context.current_change_reason(),
        request_id=context.current_request_id() or "",
        ip=context.current_client_ip(),
    )
    event.signature = event_signature(event)
    event.save(force_insert=True)
    return event


def audit_seal_pending(*, batch_size: int = 5000) -> int:
    """Seal the events written since the last run into the chain, in order of their ids.

    One sealer at a time (a transaction-scoped advisory lock; a second caller returns 0
    at once). Writers are never blocked: they only insert. Returns how many were sealed.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SEALER_LOCK])
            if not cursor.fetchone()[0]:
                return 0
        pending_ids = list(
            PendingSeal.objects.order_by("event_id").values_list("event_id", flat=True)[:batch_size]
        )
        if not pending_ids:
            return 0
        events = AuditEvent.objects.in_bulk(pending_ids)
        last = AuditSeal.objects.order_by("-seq").only("seq", "hash").first()
        seq, prev_hash = (last.seq, last.hash) if last else (0, chain.GENESIS)
        now = clock.now()
        seals = []
        for event_id in pending_ids:
            event = events.get(event_id)
            if event is None:
                # Deleted behind the trigger's back: its pending row stays for audit_verify to name.
                continue
            seq += 1
            link = seal_hash(prev_hash, seq, event.id, event.signature)
            seals.append(AuditSeal(seq=seq, event_id=event.id, prev_hash=prev_hash, hash=link, sealed_at=now))
            prev_hash = link
        AuditSeal.objects.bulk_create(seals)
        if seals:
            # The chain's head, written outside the database too: a log archive can then show
            # that the newest rows (and their seals) were later removed, which no row can.
            logger.info("audit chain sealed", extra={"head_seq": seq, "head_hash": prev_hash, "sealed": len(seals)})
        PendingSeal.objects.filter(event_id__in=[seal.event_id for seal in seals]).delete()
        return len(seals)


def audit_chain_check(*, actor: Actor) -> selectors.ChainReport:
    """Verify the whole chain and journal the outcome (so it is sealed too): a failure for the
    compliance team, a success so the dashboard can tell when the chain was last proven."""
    report = selectors.audit_chain_verify()
    with transaction.atomic():
        if report.problem is not None:
            audit_record(
                actor=actor,
                action=selectors.CHAIN_VERIFICATION_FAILED,
                object_type=selectors.CHAIN_OBJECT_TYPE,
                object_id=str(report.problem.event_id or report.problem.seq or ""),
                after={"problem": report.problem.message},
            )
        else:
            audit_record(
                actor=actor,
                action=selectors.CHAIN_VERIFIED,
                object_type=selectors.CHAIN_OBJECT_TYPE,
                object_id=str(report.sealed),
                after={"sealed": report.sealed, "pending": report.pending},
            )
    return report
