"""audit_chain_verify: every way of tampering with the journal is found and names its row.

The attacker here holds the database password (so can bypass the triggers) but not
FINCORE_AUDIT_KEY.
"""

import hashlib
import hmac
import json
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from apps.audit import chain
from apps.audit.models import AuditEvent, AuditSeal, PendingSeal
from apps.audit.selectors import (
    ChainProblem,
    ChainReport,
    ChainVerification,
    audit_chain_verify,
    audit_latest_verification,
)
from apps.audit.services import audit_chain_check, audit_seal_pending
from apps.audit.signing import event_content
from apps.core.actors import Actor
from tests.audit.support import journal, triggers_bypassed

pytestmark = pytest.mark.django_db

COLUMNS = ("uid", "occurred_at", "actor_type", "actor_id", "actor_label", "merchant_id", "action", "object_type",
           "object_id", "before", "after", "reason", "request_id", "ip", "signature")


@pytest.fixture
def sealed() -> list[AuditEvent]:
    """Five events, sealed at seq 1..5."""
    events = journal(5)
    assert audit_seal_pending() == 5
    return events


def insert_raw_event(content: dict, signature: str) -> int:
    """Insert a row with plain SQL, as a forger would; the queue trigger still fires."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO audit_auditevent ({", ".join(COLUMNS)})
            VALUES ({", ".join(["%s"] * len(COLUMNS))}) RETURNING id
            """,
            [*(as_json(content[c]) if c in ("before", "after") else content[c] for c in COLUMNS[:-1]), signature],
        )
        return cursor.fetchone()[0]


def as_json(value: object) -> str | None:
    return None if value is None else json.dumps(value)


def unkeyed_link(prev_hash: str, seq: int, event_id: int, signature: str) -> str:
    """What someone without the key can compute: the link's construction, with no secret."""
    return hashlib.sha256(f"{prev_hash}|{seq}|{event_id}|{signature}".encode()).hexdigest()


def test_an_intact_chain_passes(sealed: list[AuditEvent]) -> None:
    journal(2, object_prefix="pay_later_")

    assert audit_chain_verify() == ChainReport(sealed=5, pending=2, problem=None)
    assert audit_chain_verify().ok


def test_an_empty_journal_passes() -> None:
    assert audit_chain_verify() == ChainReport(sealed=0, pending=0, problem=None)


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE audit_auditevent SET reason = 'approved by the board' WHERE id = %s",
        "UPDATE audit_auditevent SET after = '{\"amount\": 1, \"status\": \"succeeded\"}' WHERE id = %s",
        "UPDATE audit_auditevent SET actor_label = 'someone.else' WHERE id = %s",
        "UPDATE audit_auditevent SET occurred_at = occurred_at - interval '1 day' WHERE id = %s",
        "UPDATE audit_auditevent SET ip = '10.0.0.1' WHERE id = %s",
    ],
)
def test_an_edited_sealed_event_is_named(sealed: list[AuditEvent], edit: str) -> None:
    third = sealed[2]
    with triggers_bypassed() as cursor:
        cursor.execute(edit, [third.pk])

    assert audit_chain_verify() == ChainReport(
        sealed=2, pending=0,
        problem=ChainProblem(third.pk, 3, f"event {third.pk} was altered or forged: its signature does not match"),
    )


def test_an_edited_event_not_sealed_yet_is_named(sealed: list[AuditEvent]) -> None:
    [pending] = journal(1, object_prefix="pay_later_")
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET object_id = 'pay_other' WHERE id = %s", [pending.pk])

    assert audit_chain_verify() == ChainReport(
        sealed=5, pending=0,
        problem=ChainProblem(
            pending.pk, None, f"event {pending.pk} (not sealed yet) was altered or forged: its signature does not match"
        ),
    )


def test_an_edit_re_signed_without_the_key_is_still_named(sealed: list[AuditEvent]) -> None:
    third = sealed[2]
    content = {**event_content(third), "reason": "approved by the board"}
    with triggers_bypassed() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET reason = %s, signature = %s WHERE id = %s",
            [content["reason"], chain.signature(b"a guessed key", content), third.pk],
        )

    assert audit_chain_verify().problem == ChainProblem(
        third.pk, 3, f"event {third.pk} was altered or forged: its signature does not match"
    )


def test_a_deleted_sealed_event_is_named(sealed: list[AuditEvent]) -> None:
    third = sealed[2]
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [third.pk])

    assert audit_chain_verify() == ChainReport(
        sealed=2, pending=0, problem=ChainProblem(third.pk, 3, f"event {third.pk}, sealed at 3, was deleted")
    )


def test_a_deleted_seal_leaves_a_gap_that_is_named(sealed: list[AuditEvent]) -> None:
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditseal WHERE seq = 3")

    assert audit_chain_verify() == ChainReport(
        sealed=2, pending=0, problem=ChainProblem(None, 3, "seal 3 is missing (the chain jumps to seal 4)")
    )


def test_a_deleted_last_seal_leaves_its_event_neither_sealed_nor_pending(sealed: list[AuditEvent]) -> None:
    fifth = sealed[4]
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditseal WHERE seq = 5")

    assert audit_chain_verify() == ChainReport(
        sealed=4, pending=0,
        problem=ChainProblem(fifth.pk, None, f"event {fifth.pk} is neither sealed nor awaiting its seal"),
    )


@pytest.mark.parametrize(
    "relink", [unkeyed_link, lambda *args: chain.link(b"a guessed key", *args)], ids=["sha256", "guessed-key"]
)
def test_a_deleted_event_cannot_be_hidden_by_relinking_the_rest_of_the_chain_without_the_key(
    sealed: list[AuditEvent], relink
) -> None:
    third, fourth = sealed[2], sealed[3]
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [third.pk])
        cursor.execute("DELETE FROM audit_auditseal WHERE seq >= 3")
        prev_hash = AuditSeal.objects.get(seq=2).hash
        for seq, event in enumerate(sealed[3:], start=3):
            link = relink(prev_hash, seq, event.pk, event.signature)
            cursor.execute(
                "INSERT INTO audit_auditseal (seq, event_id, prev_hash, hash, sealed_at) "
                "VALUES (%s, %s, %s, %s, now())",
                [seq, event.pk, prev_hash, link],
            )
            prev_hash = link

    assert audit_chain_verify().problem == ChainProblem(
        fourth.pk, 3, f"seal 3 does not match event {fourth.pk}: rows were swapped or edited"
    )


def test_two_events_swapped_are_named(sealed: list[AuditEvent]) -> None:
    second, third = sealed[1], sealed[2]
    # Swapping ids swaps every column of the two rows, signatures included: each row still
    # carries a valid signature, only its place in the chain is wrong.
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET id = -1 WHERE id = %s", [second.pk])
        cursor.execute("UPDATE audit_auditevent SET id = %s WHERE id = %s", [second.pk, third.pk])
        cursor.execute("UPDATE audit_auditevent SET id = %s WHERE id = -1", [third.pk])
    assert AuditEvent.objects.get(pk=second.pk).object_id == third.object_id

    assert audit_chain_verify() == ChainReport(
        sealed=1, pending=0,
        problem=ChainProblem(second.pk, 2, f"seal 2 does not match event {second.pk}: rows were swapped or edited"),
    )


def test_two_seals_swapped_are_named(sealed: list[AuditEvent]) -> None:
    second, third = sealed[1], sealed[2]
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditseal SET event_id = -1 WHERE seq = 2")
        cursor.execute("UPDATE audit_auditseal SET event_id = %s WHERE seq = 3", [second.pk])
        cursor.execute("UPDATE audit_auditseal SET event_id = %s WHERE seq = 2", [third.pk])

    assert audit_chain_verify().problem == ChainProblem(
        third.pk, 2, f"seal 2 does not match event {third.pk}: rows were swapped or edited"
    )


def test_a_seal_edited_to_follow_something_else_is_named(sealed: list[AuditEvent]) -> None:
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditseal SET prev_hash = repeat('0', 64) WHERE seq = 4")

    assert audit_chain_verify().problem == ChainProblem(sealed[3].pk, 4, "seal 4 does not follow seal 3")


@pytest.mark.parametrize(("key", "forged"), [(b"a guessed key", True), (None, False)], ids=["forger", "keyholder"])
def test_only_the_audit_key_makes_a_row_that_verifies(sealed: list[AuditEvent], key: bytes | None,
                                                      forged: bool) -> None:
    """A forger without FINCORE_AUDIT_KEY cannot write a row that passes; the same row signed
    with the key passes, pending and sealed (so the check really is the signature)."""
    content = {**event_content(sealed[0]), "uid": str(uuid.uuid4()), "action": "payout.approved",
               "object_type": "payments.payout", "object_id": "po_999", "after": {"amount": 9_000_000}}
    signature = chain.signature(key or settings.FINCORE_AUDIT_KEY.encode(), content)
    row = insert_raw_event(content, signature)

    pending = audit_chain_verify()
    assert audit_seal_pending() == 1
    after_sealing = audit_chain_verify()

    if forged:
        assert pending == ChainReport(sealed=5, pending=0, problem=ChainProblem(
            row, None, f"event {row} (not sealed yet) was altered or forged: its signature does not match"))
        assert after_sealing == ChainReport(sealed=5, pending=0, problem=ChainProblem(
            row, 6, f"event {row} was altered or forged: its signature does not match"))
    else:
        assert pending == ChainReport(sealed=5, pending=1, problem=None)
        assert after_sealing == ChainReport(sealed=6, pending=0, problem=None)


def test_a_made_up_signature_is_named() -> None:
    journal(1)
    audit_seal_pending()
    content = {**event_content(AuditEvent.objects.get()), "uid": str(uuid.uuid4())}
    row = insert_raw_event(content, "f" * 64)

    assert audit_chain_verify().problem == ChainProblem(
        row, None, f"event {row} (not sealed yet) was altered or forged: its signature does not match"
    )


@pytest.mark.parametrize("link", [unkeyed_link, lambda *args: "e" * 64], ids=["sha256", "made-up"])
def test_a_forged_seal_appended_to_the_chain_is_named(sealed: list[AuditEvent], link) -> None:
    [pending] = journal(1, object_prefix="pay_later_")
    prev_hash = AuditSeal.objects.get(seq=5).hash
    with connection.cursor() as cursor:  # appending needs no bypass: only UPDATE and DELETE are refused
        cursor.execute(
            "INSERT INTO audit_auditseal (seq, event_id, prev_hash, hash, sealed_at) VALUES (6, %s, %s, %s, now())",
            [pending.pk, prev_hash, link(prev_hash, 6, pending.pk, pending.signature)],
        )

    assert audit_chain_verify().problem == ChainProblem(
        pending.pk, 6, f"seal 6 does not match event {pending.pk}: rows were swapped or edited"
    )


def test_an_event_taken_off_the_sealing_queue_is_named(sealed: list[AuditEvent]) -> None:
    [pending] = journal(1, object_prefix="pay_later_")
    PendingSeal.objects.filter(event_id=pending.pk).delete()  # the queue is not append-only

    assert audit_chain_verify() == ChainReport(
        sealed=5, pending=0,
        problem=ChainProblem(pending.pk, None, f"event {pending.pk} is neither sealed nor awaiting its seal"),
    )


def test_an_event_deleted_before_its_seal_is_named_and_not_sealed(sealed: list[AuditEvent]) -> None:
    doomed, kept = journal(2, object_prefix="pay_later_")
    with triggers_bypassed() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [doomed.pk])

    assert audit_seal_pending() == 1
    assert AuditSeal.objects.get(seq=6).event_id == kept.pk
    assert list(PendingSeal.objects.values_list("event_id", flat=True)) == [doomed.pk]
    assert audit_chain_verify() == ChainReport(
        sealed=6, pending=0, problem=ChainProblem(doomed.pk, None, f"event {doomed.pk}, awaiting its seal, was deleted")
    )


def test_rows_signed_with_another_key_do_not_verify(sealed: list[AuditEvent]) -> None:
    with override_settings(FINCORE_AUDIT_KEY="not-the-key-that-signed-the-journal"):
        report = audit_chain_verify()

    first = sealed[0]
    assert report.problem == ChainProblem(
        first.pk, 1, f"event {first.pk} was altered or forged: its signature does not match"
    )


def test_verification_reads_the_chain_in_chunks(sealed: list[AuditEvent], monkeypatch) -> None:
    monkeypatch.setattr("apps.audit.selectors._CHUNK", 2)
    assert audit_chain_verify() == ChainReport(sealed=5, pending=0, problem=None)

    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'edited' WHERE id = %s", [sealed[4].pk])
    assert audit_chain_verify().problem == ChainProblem(
        sealed[4].pk, 5, f"event {sealed[4].pk} was altered or forged: its signature does not match"
    )


def test_hmac_of_the_content_is_what_the_signature_is(sealed: list[AuditEvent]) -> None:
    """The documented construction, so a third party with the key can check a row by hand."""
    event = AuditEvent.objects.get(pk=sealed[0].pk)
    body = chain.canonical(event_content(event))
    assert event.signature == hmac.new(settings.FINCORE_AUDIT_KEY.encode(), body, hashlib.sha256).hexdigest()


def test_the_latest_verification_is_the_last_journaled_outcome_of_the_nightly_proof(sealed) -> None:
    assert audit_latest_verification() is None
    audit_chain_check(actor=Actor.system("audit.verify"))
    passed = audit_latest_verification()
    assert passed == ChainVerification(verified_at=passed.verified_at, ok=True,
                                       detail="5 sealed events proven, 0 awaiting their seal")

    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = 'edited' WHERE id = %s", [sealed[2].pk])
    audit_chain_check(actor=Actor.system("audit.verify"))

    failed = audit_latest_verification()
    assert (failed.ok, failed.detail) == (
        False, f"event {sealed[2].pk} was altered or forged: its signature does not match"
    )
    assert failed.verified_at >= passed.verified_at
