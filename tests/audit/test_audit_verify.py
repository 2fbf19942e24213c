"""``manage.py audit_verify``: proves the chain, or fails naming the first bad row."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.audit.services import audit_seal_pending
from tests.audit.support import journal, triggers_bypassed

pytestmark = pytest.mark.django_db


def test_an_intact_chain_is_reported_with_its_size() -> None:
    journal(3)
    audit_seal_pending()
    journal(1, object_prefix="pay_later_")
    out = StringIO()

    call_command("audit_verify", stdout=out)

    assert out.getvalue() == "audit chain intact: 3 sealed events, 1 awaiting their seal\n"


def test_a_broken_chain_fails_naming_the_row() -> None:
    events = journal(3)
    audit_seal_pending()
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'edited' WHERE id = %s", [events[1].pk])
    out = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("audit_verify", stdout=out)

    assert str(failure.value) == (
        f"audit chain broken: event {events[1].pk} was altered or forged: its signature does not match"
    )
    assert out.getvalue() == ""


def test_a_missing_seal_fails_naming_its_position() -> None:
    journal(3)
    audit_seal_pending()
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditseal WHERE seq = 2")

    with pytest.raises(CommandError, match=r"^audit chain broken: seal 2 is missing \(the chain jumps to seal 3\)$"):
        call_command("audit_verify")
