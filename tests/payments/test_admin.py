"""Payments in the admin: read-only money rows with attempts, routing decisions, captures and
refunds inline; the review queue; "ask the connector now" with a reason, journaled."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.core import clock, ids
from apps.ledger.models import Account
from apps.payments import services
from apps.payments.exceptions import InvalidPayment
from apps.payments.models import PaymentAttempt
from tests.factories.merchants import FACTORY_ACTOR
from tests.payments.conftest import APPROVED, UNKNOWN, journal, processed

pytestmark = pytest.mark.django_db


def test_the_payment_page_shows_attempts_with_routing_decisions_and_refunds(admin_client, merchant, routing):
    routing["alpha"].answer("authorize", UNKNOWN)
    payment = processed(merchant)
    with time_machine.travel(clock.now() + timedelta(seconds=30), tick=False):
        services.payments_janitor()
    services.payment_refund(payment_id=payment.pk, amount=100, reason="goodwill", actor=FACTORY_ACTOR)

    page = admin_client.get(f"/admin/payments/payment/{payment.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert ids.encode("pay", payment.pk) in html
    assert "in the test&#x27;s order" in html or "in the test's order" in html
    assert "alpha → beta" in html
    assert "goodwill" in html
    assert 'name="_save"' not in html  # read-only


def test_the_lists_find_by_public_id_in_constant_queries(admin_client, merchant, routing):
    payment = processed(merchant)
    for model, prefix, pk in (("payment", "pay", payment.pk), ("paymentattempt", "att", payment.attempts.get().pk)):
        found = admin_client.get(f"/admin/payments/{model}/", {"q": ids.encode(prefix, pk)})
        assert found.status_code == 200
        assert len(found.context["cl"].result_list) == 1

    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/admin/payments/paymentattempt/").status_code == 200
    for _ in range(3):
        processed(merchant)
    with CaptureQueriesContext(connection) as more:
        admin_client.get("/admin/payments/paymentattempt/")
    assert len(more) == len(few)
    for model in ("payment", "refund", "capture", "attemptneedingreview"):
        assert admin_client.get(f"/admin/payments/{model}/").status_code == 200


def test_ask_the_connector_now_needs_a_reason_and_is_journaled(admin_client, merchant, routing):
    routing["alpha"].answer("authorize", UNKNOWN)
    payment = processed(merchant)
    attempt = payment.attempts.get()
    url = "/admin/payments/paymentattempt/"
    action = {"action": "inquire", "_selected_action": [attempt.pk]}

    confirmation = admin_client.post(url, {**action, "index": "0"})
    assert confirmation.templates[0].name == "admin/fincore/reasoned_action.html"
    assert routing["alpha"].operations("inquire") == []

    done = admin_client.post(url, {**action, "apply": "1", "change_reason": "merchant asked on the phone"})

    assert done.status_code == 302
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    [event] = AuditEvent.objects.filter(action="payment.attempt_inquired")
    assert (event.actor_type, event.reason) == ("staff", "merchant asked on the phone")


def test_the_review_queue_lists_attempts_unresolved_for_days(admin_client, merchant, routing):
    routing["alpha"].answer("authorize", UNKNOWN)
    routing["alpha"].answer("inquire", UNKNOWN)
    payment = processed(merchant)
    queue = "/admin/payments/attemptneedingreview/"
    assert list(admin_client.get(queue).context["cl"].result_list) == []

    with time_machine.travel(clock.now() + timedelta(days=3, minutes=1), tick=False):
        services.payments_janitor()

    assert [a.pk for a in admin_client.get(queue).context["cl"].result_list] == [payment.attempts.get().pk]


def test_the_janitor_is_scheduled_on_the_payments_queue_every_5_seconds():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="payments.janitor")
    assert (task.queue, task.interval.every, task.interval.period, task.enabled) == ("payments", 5, "seconds", True)


def test_the_webhook_event_types_payments_emits_are_in_the_catalogue():
    from apps.events.webhooks import selectors

    catalogue = {event_type.name: event_type.object for event_type in selectors.webhook_event_types()}
    for event_type in ("payment.succeeded", "payment.failed", "payment.requires_capture", "payment.canceled",
                       "payment.captured", "refund.pending", "refund.succeeded", "refund.failed"):
        assert catalogue[event_type] == event_type.split(".")[0]


def test_every_role_sees_payments_and_only_treasury_asks_connectors():
    from django.contrib.auth.models import Group

    for role in ("Compliance officer", "Compliance supervisor", "Treasury operator", "Support (read-only)"):
        codenames = set(Group.objects.get(name=role).permissions.filter(content_type__app_label="payments")
                        .values_list("codename", flat=True))
        assert {"view_payment", "view_paymentattempt", "view_refund", "view_capture"} <= codenames
        assert ("change_paymentattempt" in codenames) == (role == "Treasury operator")


def test_a_person_closes_an_unresolved_attempt_as_not_taken(admin_client, merchant, routing):
    routing["alpha"].answer("authorize", UNKNOWN)
    payment = processed(merchant)
    attempt = payment.attempts.get()

    done = admin_client.post("/admin/payments/paymentattempt/", {
        "action": "resolve_declined", "_selected_action": [attempt.pk], "apply": "1",
        "change_reason": "Acquirer's portal shows no such authorization (ticket 5512)"})

    assert done.status_code == 302
    payment.refresh_from_db()
    attempt.refresh_from_db()
    assert (payment.status, payment.failure_code, attempt.status) == ("failed", "not_taken", "declined")
    [event] = AuditEvent.objects.filter(action="payment.attempt_resolved_declined")
    assert (event.actor_type, event.reason) == ("staff", "Acquirer's portal shows no such authorization (ticket 5512)")
    assert routing["beta"].calls == []  # not a retry: a person's word closes it


def test_an_approval_arriving_after_a_person_closed_the_attempt_is_flagged_for_review(admin_client, merchant,
                                                                                     routing):
    routing["alpha"].answer("authorize", UNKNOWN)
    payment = processed(merchant)
    attempt = payment.attempts.get()
    services.payment_attempt_resolve_declined(attempt_id=attempt.pk, actor=FACTORY_ACTOR, reason="portal: none")

    # The slow original call reports at last: the money was taken after all.
    services.payment_attempt_record(attempt_id=attempt.pk, result=APPROVED)

    attempt.refresh_from_db()
    payment.refresh_from_db()
    assert (payment.status, attempt.status, attempt.needs_review) == ("failed", "declined", True)
    queue = admin_client.get("/admin/payments/attemptneedingreview/").context["cl"].result_list
    assert [a.pk for a in queue] == [attempt.pk]
    assert "payment.attempt_approved_after_close" in journal(attempt.pk)


def test_a_ledger_refusal_waits_in_the_review_queue_until_a_person_says_the_money_went_back(admin_client, merchant,
                                                                                           routing):
    Account.objects.filter(merchant_id=merchant.pk, code="merchant_pending").update(frozen=True)
    attempt = processed(merchant).attempts.get()
    queue = "/admin/payments/attemptneedingreview/"
    assert [a.pk for a in admin_client.get(queue).context["cl"].result_list] == [attempt.pk]

    done = admin_client.post(queue, {"action": "review_close", "_selected_action": [attempt.pk], "apply": "1",
                                     "change_reason": "Refunded at the acquirer, ref R-88"})

    assert done.status_code == 302
    attempt.refresh_from_db()
    assert (attempt.status, attempt.needs_review) == ("captured", False)
    [event] = AuditEvent.objects.filter(action="payment.attempt_review_closed")
    assert (event.actor_type, event.reason, event.object_id) == ("staff", "Refunded at the acquirer, ref R-88",
                                                                 str(attempt.pk))
    assert list(admin_client.get(queue).context["cl"].result_list) == []


def test_only_a_decided_attempt_in_review_can_have_its_review_closed(merchant, routing):
    routing["alpha"].answer("authorize", UNKNOWN)
    unresolved = processed(merchant).attempts.get()
    settled = processed(merchant).attempts.get()

    with pytest.raises(InvalidPayment, match="is not in review"):
        services.payment_attempt_review_close(attempt_id=settled.pk, actor=FACTORY_ACTOR, reason="x")
    PaymentAttempt.objects.filter(pk=unresolved.pk).update(needs_review=True)
    with pytest.raises(InvalidPayment, match="find out its outcome first"):
        services.payment_attempt_review_close(attempt_id=unresolved.pk, actor=FACTORY_ACTOR, reason="x")
    with pytest.raises(InvalidPayment, match="Say how"):
        services.payment_attempt_review_close(attempt_id=unresolved.pk, actor=FACTORY_ACTOR, reason=" ")
    assert not AuditEvent.objects.filter(action="payment.attempt_review_closed").exists()
