"""Writing the journal (audit_record) and sealing it into the chain (audit_seal_pending)."""

import hashlib
import hmac
import json
import threading
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction

from apps.audit import chain
from apps.audit.models import AuditEvent, AuditSeal, PendingSeal
from apps.audit.selectors import ChainReport, audit_chain_verify
from apps.audit.services import audit_record, audit_seal_pending
from apps.audit.signing import event_signature
from apps.core import context
from apps.core.actors import Actor
from tests.audit.support import COMPLIANCE, journal

NOON = datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC)


def expected_signature(content: dict) -> str:
    """HMAC-SHA256 over sorted, compact, UTF-8 JSON, computed here independently of the app."""
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(settings.FINCORE_AUDIT_KEY.encode(), body, hashlib.sha256).hexdigest()


def expected_link(prev_hash: str, seq: int, event_id: int, signature: str) -> str:
    return hmac.new(
        settings.FINCORE_AUDIT_KEY.encode(), f"{prev_hash}|{seq}|{event_id}|{signature}".encode(), hashlib.sha256
    ).hexdigest()


# --- audit_record ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_record_writes_a_signed_row_with_who_what_when_and_why(time_machine) -> None:
    time_machine.move_to(NOON, tick=False)
    actor = Actor.api_key(key_id="key_01", label="checkout server", merchant_id="mer_42", livemode=True)

    with context.bound(request_id="req_5f1c", client_ip="203.0.113.9"), context.change_reason("customer asked"):
        event = audit_record(
            actor=actor, action="refund.created", object_type="payments.refund", object_id="ref_1",
            after={"amount": 500, "currency": "BHD"},
        )

    stored = AuditEvent.objects.get()
    assert (
        stored.occurred_at, stored.actor_type, stored.actor_id, stored.actor_label, stored.merchant_id,
        stored.action, stored.object_type, stored.object_id, stored.before, stored.after, stored.reason,
        stored.request_id, stored.ip,
    ) == (
        NOON, "api_key", "key_01", "checkout server", "mer_42",
        "refund.created", "payments.refund", "ref_1", None, {"amount": 500, "currency": "BHD"}, "customer asked",
        "req_5f1c", "203.0.113.9",
    )
    assert stored.uid == event.uid
    assert stored.signature == event.signature == expected_signature({
        "uid": str(stored.uid),
        "occurred_at": "2026-03-01T09:30:00.123456+00:00",
        "actor_type": "api_key",
        "actor_id": "key_01",
        "actor_label": "checkout server",
        "merchant_id": "mer_42",
        "action": "refund.created",
        "object_type": "payments.refund",
        "object_id": "ref_1",
        "before": None,
        "after": {"amount": 500, "currency": "BHD"},
        "reason": "customer asked",
        "request_id": "req_5f1c",
        "ip": "203.0.113.9",
    })
    assert list(PendingSeal.objects.values_list("event_id", flat=True)) == [stored.pk]


@pytest.mark.django_db
def test_record_outside_a_request_has_no_request_id_address_or_reason() -> None:
    event = audit_record(actor=Actor.system("settlement.run"), action="settlement.completed",
                         object_type="settlement.run", object_id=42)

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor_type, stored.actor_id, stored.actor_label, stored.merchant_id) == (
        "system", "settlement.run", "settlement.run", ""
    )
    assert (stored.object_id, stored.reason, stored.request_id, stored.ip) == ("42", "", "", None)
    assert event_signature(stored) == stored.signature


@pytest.mark.django_db
def test_an_explicit_reason_and_merchant_win_over_the_context_and_the_actor() -> None:
    actor = Actor.api_key(key_id="key_01", label="checkout server", merchant_id="mer_42", livemode=True)
    with context.change_reason("from the form"):
        event = audit_record(actor=actor, action="merchant.updated", object_type="merchants.merchant",
                             object_id="mer_7", reason="four-eyes approval 118", merchant_id="mer_7")

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.reason, stored.merchant_id) == ("four-eyes approval 118", "mer_7")


@pytest.mark.django_db
def test_dates_decimals_and_uuids_survive_the_round_trip_and_the_signature_still_verifies() -> None:
    payment = uuid.UUID("01939a6e-7c1d-7b7e-9f3a-1c2d3e4f5a6b")
    event = audit_record(
        actor=COMPLIANCE, action="fee_plan.updated", object_type="merchants.feeplan", object_id="fp_1",
        before={"rate": Decimal("0.0350"), "fixed": Decimal("1.250"), "valid_from": date(2026, 1, 1)},
        after={
            "rate": Decimal("0.0290"),
            "valid_from": date(2026, 4, 1),
            "cut_off": time(17, 0),
            "approved_at": datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC),
            "payment": payment,
            "tiers": [{"up_to": 1_000_000, "rate": Decimal("0.025")}, {"up_to": None, "rate": Decimal("0.02")}],
            "note": "مصرف البحرين — approved",
        },
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.before == {"rate": "0.0350", "fixed": "1.250", "valid_from": "2026-01-01"}
    assert stored.after == {
        "rate": "0.0290",
        "valid_from": "2026-04-01",
        "cut_off": "17:00:00",
        "approved_at": "2026-03-01T09:30:00.123Z",
        "payment": "01939a6e-7c1d-7b7e-9f3a-1c2d3e4f5a6b",
        "tiers": [{"up_to": 1_000_000, "rate": "0.025"}, {"up_to": None, "rate": "0.02"}],
        "note": "مصرف البحرين — approved",
    }
    # What was signed is what the database gives back.
    assert (event.before, event.after) == (stored.before, stored.after)
    assert event_signature(stored) == stored.signature == event.signature


@pytest.mark.django_db
def test_numbers_are_signed_as_jsonb_gives_them_back() -> None:
    """jsonb keeps numbers exactly but writes them positionally: 1e+16 returns as an integer."""
    event = audit_record(
        actor=COMPLIANCE, action="routing.scored", object_type="routing.connector", object_id="cn_1",
        after={"score": 0.1, "tiny": 1e-05, "huge": 1e16, "huger": 1.5e300, "whole": 3.0, "zero": -0.0, "n": 10**20},
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.after == {
        "score": 0.1, "tiny": 1e-05, "huge": 10**16, "huger": 15 * 10**299, "whole": 3.0, "zero": 0.0, "n": 10**20
    }
    assert json.dumps(stored.after, sort_keys=True) == json.dumps(event.after, sort_keys=True)
    assert event_signature(stored) == stored.signature


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("client_ip", "stored_ip"),
    [
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::0:1", "fe80::1"),
        # An IPv4 client seen by a dual-stack listener, as Python (::ffff:c000:20a) and PostgreSQL write it.
        ("::ffff:c000:20a", "::ffff:192.0.2.10"),
        ("::ffff:192.0.2.10", "::ffff:192.0.2.10"),
        ("192.0.2.10", "192.0.2.10"),
    ],
)
def test_the_client_address_in_any_spelling_is_stored_canonically_and_still_verifies(
    client_ip: str, stored_ip: str
) -> None:
    with context.bound(client_ip=client_ip):
        event = audit_record(actor=COMPLIANCE, action="merchant.suspended", object_type="merchants.merchant",
                             object_id="mer_1")

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.ip == stored_ip
    assert event_signature(stored) == stored.signature
    assert audit_chain_verify() == ChainReport(sealed=0, pending=1, problem=None)


# --- audit_seal_pending ---------------------------------------------------------------------


@pytest.mark.django_db
def test_sealing_links_events_in_id_order_from_genesis(time_machine) -> None:
    time_machine.move_to(NOON, tick=False)
    first, second = journal(2)
    # A valid row with a lower id, written after the others: the chain follows ids, not insertion.
    earliest = AuditEvent(
        id=first.pk - 1000, occurred_at=NOON, actor_type="system", actor_id="backfill", actor_label="backfill",
        action="payment.captured", object_type="payments.payment", object_id="pay_0",
    )
    earliest.signature = event_signature(earliest)
    earliest.save(force_insert=True)

    assert audit_seal_pending() == 3

    seals = list(AuditSeal.objects.order_by("seq"))
    assert [(seal.seq, seal.event_id) for seal in seals] == [(1, earliest.pk), (2, first.pk), (3, second.pk)]
    assert [seal.prev_hash for seal in seals] == [chain.GENESIS, seals[0].hash, seals[1].hash]
    assert chain.GENESIS == "0" * 64
    assert [seal.hash for seal in seals] == [
        expected_link(chain.GENESIS, 1, earliest.pk, earliest.signature),
        expected_link(seals[0].hash, 2, first.pk, first.signature),
        expected_link(seals[1].hash, 3, second.pk, second.signature),
    ]
    assert {seal.sealed_at for seal in seals} == {NOON}
    assert not PendingSeal.objects.exists()
    assert audit_chain_verify() == ChainReport(sealed=3, pending=0, problem=None)


@pytest.mark.django_db
def test_a_later_run_seals_only_the_new_events_and_continues_the_chain() -> None:
    journal(2)
    assert audit_seal_pending() == 2
    last = AuditSeal.objects.get(seq=2)

    assert audit_seal_pending() == 0
    [third] = journal(1, object_prefix="pay_new_")
    assert audit_seal_pending() == 1

    seal = AuditSeal.objects.get(seq=3)
    assert (seal.event_id, seal.prev_hash, seal.hash) == (
        third.pk, last.hash, expected_link(last.hash, 3, third.pk, third.signature)
    )
    assert AuditSeal.objects.count() == 3
    assert audit_chain_verify() == ChainReport(sealed=3, pending=0, problem=None)


@pytest.mark.django_db
def test_sealing_works_in_batches_of_the_oldest_pending_events() -> None:
    events = journal(5)

    assert audit_seal_pending(batch_size=2) == 2
    assert list(AuditSeal.objects.order_by("seq").values_list("event_id", flat=True)) == [e.pk for e in events[:2]]
    assert audit_seal_pending(batch_size=2) == 2
    assert audit_seal_pending(batch_size=2) == 1
    assert audit_seal_pending(batch_size=2) == 0
    assert list(AuditSeal.objects.order_by("seq").values_list("seq", "event_id")) == [
        (n, event.pk) for n, event in enumerate(events, start=1)
    ]


# --- concurrency: committed data, real connections ------------------------------------------


def _in_thread(target, *args):
    """Run ``target`` on its own database connection; re-raise what it raised."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = target(*args)
        except Exception as error:  # noqa: BLE001 - handed back to the test thread
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.django_db(transaction=True)
def test_a_second_sealer_gets_nothing_while_the_first_holds_its_transaction_and_writers_never_wait() -> None:
    journal(3)
    first_has_sealed, release_first = threading.Event(), threading.Event()

    def first_sealer() -> int:
        with transaction.atomic():
            sealed = audit_seal_pending()
            first_has_sealed.set()
            assert release_first.wait(20), "the test never released the first sealer"
        return sealed

    thread, outcome = _in_thread(first_sealer)
    try:
        assert first_has_sealed.wait(20)
        # A writer while the sealer's transaction is open: it must not wait on any lock.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '3s'")
            written_meanwhile = journal(2, object_prefix="pay_meanwhile_")
        assert audit_seal_pending() == 0  # the advisory lock is taken: no second sealer
    finally:
        release_first.set()
        thread.join(20)

    assert outcome == {"result": 3}
    assert audit_seal_pending() == 2
    assert list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert list(AuditSeal.objects.filter(seq__gt=3).order_by("seq").values_list("event_id", flat=True)) == [
        event.pk for event in written_meanwhile
    ]
    # Each sealing anchored its head once it committed: seal 3, then seal 5.
    report = audit_chain_verify()
    assert (report.sealed, report.pending, report.problem, report.anchors_checked) == (5, 0, None, 2)
    assert (report.latest_anchor.anchor.seq, report.latest_anchor.anchor.hash) == (
        5, AuditSeal.objects.get(seq=5).hash
    )


@pytest.mark.django_db(transaction=True)
def test_two_sealers_started_together_seal_everything_once() -> None:
    events = journal(20)
    start = threading.Barrier(2)

    def sealer() -> int:
        start.wait(10)
        return audit_seal_pending()

    runs = [_in_thread(sealer) for _ in range(2)]
    for thread, _ in runs:
        thread.join(20)

    assert sorted(outcome["result"] for _, outcome in runs) == [0, 20]
    assert list(AuditSeal.objects.order_by("seq").values_list("seq", "event_id")) == [
        (n, event.pk) for n, event in enumerate(events, start=1)
    ]


@pytest.mark.django_db(transaction=True)
def test_sealers_racing_writers_leave_no_gap_and_no_duplicate() -> None:
    writers, sealers, rows_per_writer = 3, 3, 15
    start = threading.Barrier(writers + sealers)

    def writer(number: int) -> int:
        start.wait(10)
        for row in range(rows_per_writer):
            with transaction.atomic():
                audit_record(actor=COMPLIANCE, action="payment.captured", object_type="payments.payment",
                             object_id=f"pay_{number}_{row}")
        return rows_per_writer

    def sealer() -> list[int]:
        start.wait(10)
        return [audit_seal_pending(batch_size=4) for _ in range(10)]

    runs = [_in_thread(writer, n) for n in range(writers)] + [_in_thread(sealer) for _ in range(sealers)]
    for thread, _ in runs:
        thread.join(30)
    assert [outcome.get("error") for _, outcome in runs] == [None] * (writers + sealers)
    sealings = [sealed for _, outcome in runs[writers:] for sealed in outcome["result"] if sealed]
    sealed_by_racers = sum(sealings)

    sealed_after = audit_seal_pending()

    total = writers * rows_per_writer
    assert sealed_by_racers + sealed_after == total
    assert list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, total + 1))
    assert AuditSeal.objects.values("event_id").distinct().count() == total
    assert not PendingSeal.objects.exists()
    # One anchor per sealing that sealed something (appended in whatever order they committed).
    report = audit_chain_verify()
    assert (report.sealed, report.pending, report.problem) == (total, 0, None)
    assert report.anchors_checked == len(sealings) + (1 if sealed_after else 0)
    assert report.latest_anchor.anchor.seq == total
