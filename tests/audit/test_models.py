"""The journal is append-only in PostgreSQL itself (migration 0002), so raw SQL cannot rewrite it either."""

import uuid

import pytest
from django.db import IntegrityError, connection, transaction

from apps.audit.models import AuditEvent, AuditSeal, PendingSeal
from apps.audit.services import audit_seal_pending
from tests.audit.support import columns, journal

pytestmark = pytest.mark.django_db

REFUSED = r"the audit journal is append-only: {op} on {table} refused"


def refused(op: str, table: str):
    return pytest.raises(IntegrityError, match=REFUSED.format(op=op, table=table))


@pytest.mark.parametrize(
    ("statement", "op"),
    [
        ("UPDATE audit_auditevent SET reason = 'nothing to see' WHERE id = %s", "UPDATE"),
        ("UPDATE audit_auditevent SET after = '{\"amount\": 1}' WHERE id = %s", "UPDATE"),
        ("DELETE FROM audit_auditevent WHERE id = %s", "DELETE"),
    ],
)
def test_raw_sql_cannot_edit_or_delete_an_event(statement: str, op: str) -> None:
    [event] = journal(1)
    stored = columns("audit_auditevent", event.pk)

    with (
        refused(op, "audit_auditevent"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])

    assert columns("audit_auditevent", event.pk) == stored
    assert AuditEvent.objects.count() == 1


def test_the_orm_cannot_edit_or_delete_an_event() -> None:
    [event] = journal(1)
    stored = columns("audit_auditevent", event.pk)

    with refused("UPDATE", "audit_auditevent"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="nothing to see")
    with refused("UPDATE", "audit_auditevent"), transaction.atomic():
        event.actor_label = "someone else"
        event.save()
    with refused("DELETE", "audit_auditevent"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with refused("DELETE", "audit_auditevent"), transaction.atomic():
        AuditEvent.objects.get(pk=event.pk).delete()

    assert columns("audit_auditevent", event.pk) == stored


@pytest.mark.parametrize(
    ("statement", "op"),
    [
        ("UPDATE audit_auditseal SET hash = repeat('0', 64) WHERE seq = %s", "UPDATE"),
        ("UPDATE audit_auditseal SET seq = 99 WHERE seq = %s", "UPDATE"),
        ("DELETE FROM audit_auditseal WHERE seq = %s", "DELETE"),
    ],
)
def test_raw_sql_cannot_edit_or_delete_a_seal(statement: str, op: str) -> None:
    journal(2)
    assert audit_seal_pending() == 2
    stored = columns("audit_auditseal", 2, key="seq")

    with (
        refused(op, "audit_auditseal"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [2])

    assert columns("audit_auditseal", 2, key="seq") == stored
    assert AuditSeal.objects.count() == 2


def test_the_orm_cannot_edit_or_delete_a_seal() -> None:
    journal(1)
    audit_seal_pending()
    stored = columns("audit_auditseal", 1, key="seq")

    with refused("UPDATE", "audit_auditseal"), transaction.atomic():
        AuditSeal.objects.filter(seq=1).update(hash="0" * 64)
    with refused("DELETE", "audit_auditseal"), transaction.atomic():
        AuditSeal.objects.all().delete()

    assert columns("audit_auditseal", 1, key="seq") == stored


def test_a_row_inserted_with_raw_sql_is_queued_for_its_seal() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_auditevent (uid, occurred_at, actor_type, actor_id, actor_label, merchant_id, action,
                                          object_type, object_id, reason, request_id, signature)
            VALUES (%s, now(), 'staff', '9', 'mallory', '', 'payout.approved', 'payments.payout', 'po_1', '', '',
                    repeat('a', 64))
            RETURNING id
            """,
            [uuid.uuid4()],
        )
        [event_id] = cursor.fetchone()

    assert list(PendingSeal.objects.values_list("event_id", flat=True)) == [event_id]


def test_every_event_written_through_the_service_is_queued_for_its_seal() -> None:
    events = journal(3)

    assert list(PendingSeal.objects.order_by("event_id").values_list("event_id", flat=True)) == [
        event.pk for event in events
    ]
