"""The exception queue: breaks opened from what matching left, worked by people, each step journaled."""

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.compliance import services as compliance_services
from apps.compliance.models import ApprovalPolicy, ApprovalRequest
from apps.core import clock
from apps.core.actors import Actor
from apps.ledger import selectors as ledger_selectors
from apps.ledger.models import Transfer
from apps.reconciliation.exceptions import BreakResolved, InvalidBreakWork
from apps.reconciliation.models import Break, Match, MatchKind, MatchLine
from apps.reconciliation.services import breaks as services
from apps.reconciliation.services import proof
from apps.reconciliation.services.matches import match_undo
from tests.factories.staff import SUPERVISOR, SUPPORT, TREASURY, signed_in_client, staff_user, totp_code
from tests.reconciliation.breaks_world import expectation, money_arrived, nostro, nostro_ref, statement, suspense_ref

pytestmark = pytest.mark.django_db


def _journal(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_sync_opens_one_break_per_unmatched_line_and_missing_expectation_and_twice_changes_nothing():
    nostro()
    stmt = statement(12_500, -3_250, 700)
    matched_line = stmt.lines.get(position=3)
    match = Match.objects.create(kind=MatchKind.MANUAL, created_at=clock.now(), created_by="tests", reason="t")
    MatchLine.objects.create(match=match, line=matched_line)
    missing = expectation(-5_000, state="missing")
    expectation(9_000)  # unreconciled, not missing yet: no break

    report = services.breaks_sync()

    assert (report.opened_lines, report.opened_expectations, report.resolved_matched) == (2, 1, 0)
    assert sorted((b.kind, b.amount, b.nostro_id, b.currency, b.status) for b in Break.objects.all()) == [
        ("missing_expectation", -5_000, "nbb-bhd-01", "BHD", "open"),
        ("unmatched_line", -3_250, "nbb-bhd-01", "BHD", "open"),
        ("unmatched_line", 12_500, "nbb-bhd-01", "BHD", "open"),
    ]
    assert Break.objects.get(kind="missing_expectation").expectation == missing
    assert len(_journal("reconciliation.breaks_synced")) == 1

    again = services.breaks_sync()
    assert not again.changed
    assert Break.objects.count() == 3
    assert len(_journal("reconciliation.breaks_synced")) == 1


def test_a_break_is_resolved_as_matched_when_matching_takes_its_line_later():
    nostro()
    line = statement(12_500).lines.get()
    missing = expectation(4_000, state="missing")
    services.breaks_sync()
    match = Match.objects.create(kind=MatchKind.MANUAL, created_at=clock.now(), created_by="tests", reason="t")
    MatchLine.objects.create(match=match, line=line)
    missing.state = "reconciled"
    missing.reconciled_amount = 4_000
    missing.save()

    report = services.breaks_sync()

    assert report.resolved_matched == 2
    assert set(Break.objects.values_list("status", "resolution", "resolved_by")) == {
        ("resolved", "matched", "reconciliation.breaks_sync")}
    assert not services.breaks_sync().changed


def test_assign_comment_and_ignore_are_each_journaled_and_ignore_needs_a_reason():
    nostro()
    statement(1_250)
    services.breaks_sync()
    found = Break.objects.get()
    operator = staff_user(TREASURY)
    actor = Actor.staff(operator)

    services.break_assign(break_id=found.pk, user=operator, actor=actor, reason="mine")
    services.break_comment(break_id=found.pk, body="Asked NBB for the advice", actor=actor)
    with pytest.raises(InvalidBreakWork):
        services.break_ignore(break_id=found.pk, actor=actor, reason="  ")
    found.refresh_from_db()
    assert found.status == "open"
    assert not _journal("reconciliation.break_ignored")
    services.break_ignore(break_id=found.pk, actor=actor, reason="NBB's monthly fee, booked by finance")

    found.refresh_from_db()
    assert (found.assigned_to, found.status, found.resolution, found.resolution_reason, found.resolved_by) == (
        operator, "resolved", "ignored", "NBB's monthly fee, booked by finance", operator.username)
    assert [c.body for c in found.comments.all()] == ["Asked NBB for the advice"]
    for action in ("assigned", "commented", "ignored"):
        [event] = _journal(f"reconciliation.break_{action}")
        assert (event.actor_id, event.object_id) == (str(operator.pk), str(found.pk))
    with pytest.raises(BreakResolved):
        services.break_ignore(break_id=found.pk, actor=actor, reason="again")


def test_linking_a_line_break_with_a_missing_expectation_resolves_both():
    nostro()
    line = statement(12_500).lines.get()
    missing = expectation(12_500, state="missing")
    services.breaks_sync()
    line_break = Break.objects.get(line=line)
    actor = Actor.staff(staff_user(TREASURY))

    services.break_link(break_id=line_break.pk, expectation_ids=[missing.pk], actor=actor,
                        reason="Same payer, reference mistyped by the bank")

    assert set(Break.objects.values_list("status", "resolution")) == {("resolved", "linked")}
    missing.refresh_from_db()
    assert (missing.state, missing.reconciled_amount) == ("reconciled", 12_500)
    assert Match.objects.get().kind == "manual"
    assert len(_journal("reconciliation.break_linked")) == 2
    assert len(_journal("reconciliation.match_linked")) == 1


def _adjust_request(found: Break, maker) -> ApprovalRequest:
    return compliance_services.approval_request_create(action=services.BREAK_ADJUST,
                                                       arguments={"break_id": str(found.pk)}, user=maker,
                                                       reason="NBB credited an unidentified 12.500 BHD")


def test_an_adjustment_above_the_threshold_waits_for_a_checker_then_posts_once_and_the_books_agree():
    nostro()
    ApprovalPolicy.objects.create(action=services.BREAK_ADJUST, currency="BHD", threshold=10_000,
                                  updated_at=clock.now(), updated_by="tests")
    stmt = statement(12_500, closing_balance=12_500)
    services.breaks_sync()
    found = Break.objects.get()
    first = proof.balance_prove(statement_id=stmt.pk)
    assert (first.status, first.ledger_balance, first.difference) == ("differs", 0, -12_500)

    request = _adjust_request(found, staff_user(TREASURY))
    assert request.state == "pending"
    assert not Transfer.objects.filter(code=services.TRANSFER_CODE).exists()

    checker = staff_user(SUPERVISOR)
    compliance_services.approval_request_approve(request_id=request.pk, user=checker, otp_token=totp_code(checker))

    request.refresh_from_db()
    assert request.state == "executed", request.outcome
    found.refresh_from_db()
    [transfer] = Transfer.objects.filter(code=services.TRANSFER_CODE)
    assert (found.status, found.resolution, found.adjustment_transfer_id) == ("resolved", "adjusted", transfer.pk)
    nostro_now = ledger_selectors.role_account_balances(ref=nostro_ref())
    suspense_now = ledger_selectors.role_account_balances(ref=suspense_ref())
    assert (nostro_now.debits_posted, nostro_now.credits_posted) == (12_500, 0)
    assert (suspense_now.debits_posted, suspense_now.credits_posted) == (0, 12_500)

    # A retry posts nothing more.
    with transaction.atomic():
        services.break_adjust(break_id=found.pk, actor=Actor.system("tests.retry"), reason="retry")
    assert Transfer.objects.filter(code=services.TRANSFER_CODE).count() == 1

    again = proof.balance_prove(statement_id=stmt.pk)
    assert (again.status, again.ledger_balance, again.difference) == ("agreed", 12_500, 0)


def test_a_missing_expectation_is_adjusted_on_the_reverse_side_under_the_threshold_at_once():
    nostro()
    ApprovalPolicy.objects.create(action=services.BREAK_ADJUST, currency="BHD", threshold=10_000,
                                  updated_at=clock.now(), updated_by="tests")
    money_arrived(4_000)  # the books counted a settlement the bank never received
    expectation(4_000, state="missing")
    services.breaks_sync()

    request = _adjust_request(Break.objects.get(), staff_user(TREASURY))

    assert request.state == "executed", request.outcome
    nostro_now = ledger_selectors.role_account_balances(ref=nostro_ref())
    assert nostro_now.debits_posted - nostro_now.credits_posted == 0


def _work(client, found: Break, step: str, data: dict):
    return client.post(reverse("admin:reconciliation_break_work", args=[found.pk, step]), data)


@pytest.mark.parametrize(("step", "data"), [
    ("assign", {"assignee": "not-a-person", "reason": "x"}),
    ("assign", {"assignee": "²", "reason": "x"}),
    ("link", {"counterpart": ["not-an-id", "1 OR 1=1"], "reason": "x"}),
    ("link", {"counterpart": [], "reason": "x"}),
    ("ignore", {"reason": "   "}),
])
def test_hostile_or_empty_work_from_the_admin_is_refused_on_the_page_and_changes_nothing(step, data):
    nostro()
    line = statement(12_500).lines.get()
    services.breaks_sync()
    found = Break.objects.get(line=line)
    client = signed_in_client(staff_user(TREASURY))
    journal = AuditEvent.objects.count()

    answer = _work(client, found, step, data)

    assert answer.status_code == 302
    found.refresh_from_db()
    assert (found.status, found.assigned_to_id, AuditEvent.objects.count()) == ("open", None, journal)
    assert any("Refused" in str(message) for message in get_messages(answer.wsgi_request))


def test_a_missing_expectations_break_refuses_lines_that_are_none_from_the_admin():
    nostro()
    missing = expectation(12_500, state="missing")
    services.breaks_sync()
    found = Break.objects.get(expectation=missing)

    for hostile in (["99999999999999999999999"], ["-1"], ["abc"], ["²"]):
        answer = _work(signed_in_client(staff_user(TREASURY)), found, "link", {"counterpart": hostile, "reason": "x"})
        assert answer.status_code == 302
        assert any("Refused" in str(message) for message in get_messages(answer.wsgi_request))
    found.refresh_from_db()
    assert found.status == "open" and not Match.objects.exists()


def test_an_operator_links_a_line_to_a_missing_expectation_from_the_admin():
    nostro()
    line = statement(12_500).lines.get()
    missing = expectation(12_500, state="missing")
    services.breaks_sync()
    found = Break.objects.get(line=line)

    answer = _work(signed_in_client(staff_user(TREASURY)), found, "link",
                    {"counterpart": [str(missing.pk)], "reason": "Same payer, reference mistyped by the bank"})

    assert answer.status_code == 302
    assert set(Break.objects.values_list("status", "resolution")) == {("resolved", "linked")}
    assert Match.objects.get().kind == MatchKind.MANUAL


def test_support_cannot_work_a_break():
    nostro()
    statement(12_500)
    services.breaks_sync()
    found = Break.objects.get()

    answer = _work(signed_in_client(staff_user(SUPPORT)), found, "ignore", {"reason": "looks fine"})

    assert answer.status_code == 403
    found.refresh_from_db()
    assert found.status == "open"


def test_a_match_undone_opens_its_breaks_again_at_the_next_sync():
    nostro()
    line = statement(12_500).lines.get()
    missing = expectation(12_500, state="missing")
    services.breaks_sync()
    line_break = Break.objects.get(line=line)
    actor = Actor.staff(staff_user(TREASURY))
    services.break_link(break_id=line_break.pk, expectation_ids=[missing.pk], actor=actor, reason="Same payer")

    match_undo(match_id=Match.objects.get().pk, actor=actor, reason="Linked the wrong expectation")
    report = services.breaks_sync()

    assert report.reopened == 2
    assert set(Break.objects.values_list("kind", "status", "resolution", "amount")) == {
        ("unmatched_line", "open", "", 12_500), ("missing_expectation", "open", "", 12_500)}
    assert services.breaks_sync().changed is False  # and only once
