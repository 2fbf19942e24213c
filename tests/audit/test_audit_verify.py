"""``manage.py audit_verify``: proves the chain, or fails naming the first bad row."""

from datetime import UTC, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.audit import selectors
from apps.audit.services import audit_seal_pending
from apps.core import clock
from tests.audit.support import journal, rewrite_with_the_key, sealed, triggers_bypassed

pytestmark = pytest.mark.django_db


def test_an_intact_chain_is_reported_with_its_size_and_the_age_of_its_latest_anchor(settings) -> None:
    with time_machine.travel(clock.now(), tick=False) as traveller:
        journal(2)
        sealed()
        journal(1, object_prefix="pay_second_")
        sealed()
        journal(1, object_prefix="pay_later_")
        written = clock.now()
        traveller.shift(timedelta(hours=2, minutes=5, seconds=9))
        out = StringIO()

        call_command("audit_verify", stdout=out)

    assert out.getvalue() == (
        "audit chain intact: 3 sealed events, 1 awaiting their seal\n"
        f"anchors: 2 in {settings.FINCORE_AUDIT_ANCHOR_DIR} match the database; the latest anchors seal 3, "
        f"written {written.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (2 h 5 min ago)\n"
    )


def test_a_chain_never_anchored_is_reported_as_such(settings) -> None:
    journal(3)
    audit_seal_pending()  # in the test's transaction, never committed: no anchor
    out = StringIO()

    call_command("audit_verify", stdout=out)

    assert out.getvalue() == (
        "audit chain intact: 3 sealed events, 0 awaiting their seal\n"
        f"anchors: none in {settings.FINCORE_AUDIT_ANCHOR_DIR}: the chain is not anchored outside the database\n"
    )


def test_a_head_sealed_after_the_latest_anchor_is_named(settings) -> None:
    now = clock.now()
    with time_machine.travel(now, tick=False):
        journal(2)
        sealed()
        journal(2, object_prefix="pay_crash_")
        audit_seal_pending()  # as if the process died between the commit and the anchor
        out = StringIO()

        call_command("audit_verify", stdout=out)

    assert out.getvalue().splitlines()[1:] == [
        f"anchors: 1 in {settings.FINCORE_AUDIT_ANCHOR_DIR} match the database; the latest anchors seal 2, "
        f"written {now.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC (0 s ago)",
        "anchors: seals 3 to 4 are not anchored yet (the next sealing anchors them)",
    ]


def test_a_history_rewritten_with_the_key_is_caught_by_the_anchors() -> None:
    events = journal(4)
    sealed()
    rewrite_with_the_key(events[1], reason="approved by the board", after={"status": "failed"})
    # The chain in the database is consistent again: only the anchors can tell.
    assert selectors._check_seals() == (4, None)
    out = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("audit_verify", stdout=out)

    [anchor_file] = [path.name for path in Path(settings.FINCORE_AUDIT_ANCHOR_DIR).iterdir()]
    assert str(failure.value) == (
        f"audit chain broken: seal 4 does not match its anchor in {anchor_file}:1: "
        "the journal was rewritten after it was anchored"
    )
    assert out.getvalue() == ""


def test_each_anchored_seal_is_checked_not_only_the_latest() -> None:
    events = journal(2)
    sealed()
    journal(1, object_prefix="pay_second_")
    sealed()
    rewrite_with_the_key(events[0], reason="edited")
    anchor_file = next(Path(settings.FINCORE_AUDIT_ANCHOR_DIR).iterdir()).name

    with pytest.raises(CommandError, match=(
        rf"^audit chain broken: seal 2 does not match its anchor in {anchor_file}:1: "
        "the journal was rewritten after it was anchored$"
    )):
        call_command("audit_verify")


def test_a_journal_cut_short_after_its_anchor_is_caught() -> None:
    events = journal(3)
    sealed()
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditseal WHERE seq = 3")
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    assert selectors._check_seals() == (2, None)
    anchor_file = next(Path(settings.FINCORE_AUDIT_ANCHOR_DIR).iterdir()).name

    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")

    assert str(failure.value) == (
        f"audit chain broken: seal 3, anchored in {anchor_file}:1, is missing from the database: "
        "the journal was cut short after it was anchored"
    )


def test_a_seal_time_changed_after_it_was_anchored_is_caught() -> None:
    journal(1)
    sealed()
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditseal SET sealed_at = sealed_at - interval '1 day' WHERE seq = 1")

    with pytest.raises(CommandError, match=r"^audit chain broken: seal 1 does not match its anchor in "):
        call_command("audit_verify")


def test_a_torn_anchor_line_is_skipped_and_named(settings) -> None:
    journal(1)
    sealed()
    [anchor_path] = Path(settings.FINCORE_AUDIT_ANCHOR_DIR).iterdir()
    with anchor_path.open("a") as anchor_file:
        anchor_file.write('{"seq":2,"hash":"ab')  # a crash in the middle of a write
    out = StringIO()

    call_command("audit_verify", stdout=out)

    assert out.getvalue().splitlines()[0] == "audit chain intact: 1 sealed events, 0 awaiting their seal"
    assert out.getvalue().splitlines()[-1] == (
        f"anchors: unreadable lines skipped (torn by a crash, or not written by fincore): {anchor_path.name}:2"
    )


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
