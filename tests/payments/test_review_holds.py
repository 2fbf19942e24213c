"""Payments compliance holds, against PostgreSQL: a monitoring rule set to hold keeps a payment made
through the API in ``requires_review`` (announced, not processed, no reason shown); an officer's
release processes it, a decline fails it ``declined`` with a neutral message, through the handlers
payments registered with compliance. A suspended merchant is still refused with 403."""

import pytest
from django.db import IntegrityError, transaction

from apps.audit.models import AuditEvent
from apps.compliance.alerts.holds import hold_handlers
from apps.compliance.models import Alert, MonitoringRule
from apps.core import clock, ids
from apps.core.actors import Actor
from apps.merchants import services as merchants_services
from apps.payments import services
from apps.payments.exceptions import NotHeldForReview
from apps.payments.models import Payment
from tests.factories.merchants import FACTORY_ACTOR
from tests.payments.conftest import outbox_tasks, webhook_types

pytestmark = pytest.mark.django_db

PAYMENTS = "/api/v1/payments"
CARD = {"type": "card", "token": "tok_success"}
OFFICER = Actor.system("compliance.test-officer")


def hold_rule(*, amount: int = 10_000, enabled: bool = True) -> MonitoringRule:
    return MonitoringRule.objects.create(
        name="Large BHD payment held", kind=MonitoringRule.Kind.LARGE_AMOUNT, parameters={"BHD": {"amount": amount}},
        severity="high", action=MonitoringRule.Action.HOLD, hold_hours=24, enabled=enabled, updated_at=clock.now(),
        updated_by="test",
    )


def create(client, amount: int = 12_500) -> dict:
    response = client.post(PAYMENTS, {"amount": amount, "currency": "BHD", "country": "BH", "payment_method": CARD},
                           format="json")
    assert response.status_code == 202, response.content
    return response.json()


def _payment(shown: dict) -> Payment:
    return Payment.objects.get(pk=ids.decode("pay", shown["id"]))


def _journal(payment: Payment) -> list[str]:
    return list(AuditEvent.objects.filter(object_type="payments.payment", object_id=str(payment.pk))
                .order_by("id").values_list("action", flat=True))


def test_a_payment_a_hold_rule_trips_waits_in_requires_review_unprocessed(merchant_client, routing):
    hold_rule(amount=10_000)

    shown = create(merchant_client, 12_500)

    assert (shown["status"], shown["failure"], shown["attempts"]) == ("requires_review", None, [])
    payment = _payment(shown)
    assert [task for task, _, _ in outbox_tasks() if task == "payments.process"] == []
    assert webhook_types(payment) == ["payment.requires_review"]
    assert _journal(payment) == ["payment.created"]
    [alert] = Alert.objects.all()
    assert (alert.hold_object_type, alert.hold_object_id, alert.hold_state) == (
        "payments.payment", str(payment.pk), "held")
    # Processing a held payment (a stray message) does nothing: it is never routed.
    services.payment_process(payment_id=payment.pk)
    assert routing.decisions == []
    assert merchant_client.get(f"{PAYMENTS}/{shown['id']}").json()["status"] == "requires_review"


@pytest.mark.parametrize("hold", [{"amount": 12_501}, {"amount": 10_000, "enabled": False}])
def test_a_payment_under_the_threshold_or_under_a_disabled_rule_is_processed(merchant_client, routing, hold):
    hold_rule(**hold)

    shown = create(merchant_client, 12_500)

    assert shown["status"] == "processing"
    assert [task for task, _, _ in outbox_tasks()] == ["payments.process"]
    assert not Alert.objects.exists()


def test_released_the_payment_is_processed(merchant_client, routing):
    hold_rule()
    payment = _payment(create(merchant_client))

    hold_handlers("payments.payment").release(object_id=str(payment.pk), actor=OFFICER, reason="Known customer")

    payment.refresh_from_db()
    assert payment.status == "processing"
    assert [task for task, _, _ in outbox_tasks()] == ["payments.process"]
    services.payment_process(payment_id=payment.pk)
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert _journal(payment)[:2] == ["payment.created", "payment.review_released"]
    released = AuditEvent.objects.get(object_id=str(payment.pk), action="payment.review_released")
    assert (released.reason, released.before["status"], released.after["status"]) == (
        "Known customer", "requires_review", "processing")
    with pytest.raises(NotHeldForReview):
        hold_handlers("payments.payment").release(object_id=str(payment.pk), actor=OFFICER, reason="again")


def test_declined_the_payment_fails_declined_and_the_merchant_is_not_told_why(merchant_client, routing):
    hold_rule()
    shown = create(merchant_client)
    payment = _payment(shown)

    hold_handlers("payments.payment").decline(object_id=str(payment.pk), actor=OFFICER,
                                              reason="Matches a structuring pattern seen on case 12")

    after = merchant_client.get(f"{PAYMENTS}/{shown['id']}").json()
    assert (after["status"], after["failure"], after["amount_authorized"]) == (
        "failed", {"code": "declined", "message": "The payment was declined."}, 0)
    assert "structuring" not in str(after)
    assert webhook_types(payment) == ["payment.requires_review", "payment.failed"]
    assert [task for task, _, _ in outbox_tasks() if task == "payments.process"] == []
    declined = AuditEvent.objects.get(object_id=str(payment.pk), action="payment.review_declined")
    assert declined.reason == "Matches a structuring pattern seen on case 12"
    with pytest.raises(NotHeldForReview):
        hold_handlers("payments.payment").decline(object_id=str(payment.pk), actor=OFFICER, reason="again")


def test_the_database_refuses_a_payment_in_review_that_a_connector_saw_or_that_holds_money(merchant_client, routing):
    hold_rule()
    payment = _payment(create(merchant_client))

    for change in ({"connector": "alpha"}, {"amount_authorized": 12_500}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Payment.objects.filter(pk=payment.pk).update(**change)


def test_the_requires_review_event_is_in_the_catalogue_and_the_schema(api_client):
    from apps.events.webhooks.event_types import BY_NAME

    assert BY_NAME["payment.requires_review"].object == "payment"
    schema = api_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "requires_review" in schema["components"]["schemas"]["PaymentStatusEnum"]["enum"]


def test_a_suspended_merchant_is_still_refused_with_403(merchant, merchant_client, routing):
    merchants_services.merchant_suspend(merchant_id=merchant.pk, actor=FACTORY_ACTOR, reason="test")

    response = merchant_client.post(PAYMENTS, {"amount": 12_500, "currency": "BHD", "country": "BH",
                                               "payment_method": CARD}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "merchant_suspended"
    assert not Payment.objects.exists()
