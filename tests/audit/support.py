"""Helpers for the audit journal's tests: writing journal rows, and tampering with them as an
attacker who holds the database password (but not FINCORE_AUDIT_KEY) would."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper

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
