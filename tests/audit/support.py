"""Helpers for the audit journal's tests: writing journal rows, and tampering with them as an
attacker who holds the database password (but not FINCORE_AUDIT_KEY) would."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper
from psycopg2.extras import Json

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.core.actors import Actor, ActorType

COMPLIANCE = Actor(ActorType.STAFF, "7", "fatima.officer")


def journal(count: int = 1, *, action: str = "payment.captured", object_prefix: str = "pay_") -> list[AuditEvent]:
    """``count`` ordinary journal rows, written through the service."""
    return [
        audit_record(
            actor=COMPLIANCE, action=action, object_type="payments.payment", object_id=f"{object_prefix}{n}",
            before={"status": "requires_capture"}, after={"status": "succeeded", "amount": 12500 + n},
        )
        for n in range(1, count + 1)
    ]


@contextmanager
def triggers_bypassed() -> Iterator[CursorWrapper]:
    """A cursor that skips the append-only triggers (and foreign key checks), as a superuser can."""
    with connection.cursor() as cursor:
        # Check the foreign keys queued so far while the rows are intact, or the test's own
        # end-of-transaction check would trip over the damage done here.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


def columns(table: str, row_id: int, *, key: str = "id") -> tuple[Any, ...]:
    """The raw stored values of one row, to assert a refused change left it as it was."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE {key} = %s", [row_id])
        return cursor.fetchone()


def rewrite_with_the_key(event: AuditEvent, **changes: Any) -> None:
    """Rewrite ``event`` as an insider holding FINCORE_AUDIT_KEY and the database's superuser
    would: triggers off, the row changed, its signature re-made, and every seal from its own on
    recomputed, so the chain in the database is internally consistent again."""
    from apps.audit.models import AuditSeal
    from apps.audit.signing import event_signature, seal_hash

    for field, value in changes.items():
        setattr(event, field, value)
    event.signature = event_signature(event)
    with triggers_bypassed() as cursor:
        assignments = ", ".join(f"{field} = %s" for field in changes)
        values = [Json(value) if isinstance(value, dict) else value for value in changes.values()]
        cursor.execute(f"UPDATE audit_auditevent SET {assignments}, signature = %s WHERE id = %s",
                       [*values, event.signature, event.pk])
        first = AuditSeal.objects.get(event_id=event.pk)
        prev_hash = first.prev_hash
        for seal in AuditSeal.objects.filter(seq__gte=first.seq).order_by("seq").select_related("event"):
            link = seal_hash(prev_hash, seal.seq, seal.event_id, seal.event.signature)
            cursor.execute("UPDATE audit_auditseal SET prev_hash = %s, hash = %s WHERE seq = %s",
                           [prev_hash, link, seal.seq])
            prev_hash = link


def sealed(**options: Any) -> int:
    """``audit_seal_pending``, committed as the beat job's would be: its anchor is written."""
    from django.test import TestCase

    from apps.audit.services import audit_seal_pending

    with TestCase.captureOnCommitCallbacks(execute=True):
        return audit_seal_pending(**options)
