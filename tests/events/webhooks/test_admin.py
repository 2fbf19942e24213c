"""The webhook screens of the admin: read-only records, actions that ask why, and the merchant flag."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.events.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.events.webhooks.services import deliveries
from tests.events.webhooks.helpers import emit, endpoint_create, running_receiver
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = "/admin/events/webhookendpoint/"
EVENTS = "/admin/events/webhookevent/"
DELIVERIES = "/admin/events/webhookdelivery/"
MERCHANTS = "/admin/merchants/merchant/"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _action(admin_client, url: str, action: str, objects: list, **extra: str):
    return admin_client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects], **extra})


def _disabled_for_failing(endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=False, disabled_at=T0, disabled_cause="failing",
        disabled_reason="Every delivery since 2026-02-26 09:00 UTC failed (3 days without a success).",
        failing_since=T0,
    )


def _queries(admin_client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(url).status_code == 200
    return len(queries)


def test_the_webhook_changelists_and_pages_render_in_constant_queries(admin_client, django_assert_max_num_queries):
    merchant = MerchantFactory()
    with running_receiver([500]) as receiver:
        endpoint_create(merchant, url=receiver.url)
        for _ in range(2):
            emit(merchant)
        for delivery in WebhookDelivery.objects.all():
            deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
        counts = {url: _queries(admin_client, url) for url in (ENDPOINTS, EVENTS, DELIVERIES)}
        endpoint_create(merchant, url=receiver.url)
        for _ in range(10):
            emit(merchant)
        for delivery in WebhookDelivery.objects.filter(attempts=0):
            deliveries.webhook_delivery_send(delivery_id=delivery.pk, attempt=0)
    for url, count in counts.items():
        with django_assert_max_num_queries(count):
            assert admin_client.get(url).status_code == 200

    delivery = WebhookDelivery.objects.first()
    page = admin_client.get(f"{DELIVERIES}{delivery.pk}/change/")
    assert page.status_code == 200
    assert b"500" in page.content and b'{&quot;received&quot;: false}' in page.content
    assert admin_client.get(f"{EVENTS}{delivery.event_id}/change/").status_code == 200
    assert admin_client.get(f"{ENDPOINTS}{delivery.endpoint_id}/change/").status_code == 200


def test_records_are_read_only_and_never_deleted(admin_client):
    merchant = MerchantFactory()
    endpoint = endpoint_create(merchant).endpoint
    emit(merchant)
    assert admin_client.get(f"{ENDPOINTS}add/").status_code == 403
    assert admin_client.post(f"{ENDPOINTS}{endpoint.pk}/delete/", {"post": "yes"}).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_search_by_public_ids(admin_client):
    merchant, other = MerchantFactory(), MerchantFactory()
    mine = endpoint_create(merchant).endpoint
    endpoint_create(other)
    event_id = emit(merchant)
    found = admin_client.get(ENDPOINTS, {"q": ids.encode("mer", merchant.pk)}).context["cl"].result_list
    assert list(found) == [mine]
    found = admin_client.get(DELIVERIES, {"q": event_id}).context["cl"].result_list
    assert [d.event_id for d in found] == [ids.decode("evt", event_id)]
    assert admin_client.get(EVENTS, {"q": "not an id"}).status_code == 200


def test_re_enable_asks_for_a_reason_and_clears_the_merchant_flag(admin_client, admin_user):
    merchant = MerchantFactory()
    endpoint = endpoint_create(merchant).endpoint
    _disabled_for_failing(endpoint)

    listed = admin_client.get(MERCHANTS, {"webhooks": "disabled"}).context["cl"].result_list
    assert list(listed) == [merchant]
    assert b"webhook endpoint disabled" in admin_client.get(MERCHANTS).content
    change = admin_client.get(f"{MERCHANTS}{merchant.pk}/change/")
    assert b"3 days without a success" in change.content

    confirmation = _action(admin_client, ENDPOINTS, "enable_endpoint", [endpoint], index="0")
    assert confirmation.templates[0].name == "admin/fincore/reasoned_action.html"
    _action(admin_client, ENDPOINTS, "enable_endpoint", [endpoint], apply="1", change_reason="")
    assert not WebhookEndpoint.objects.get().enabled

    done = _action(admin_client, ENDPOINTS, "enable_endpoint", [endpoint], apply="1",
                   change_reason="merchant fixed its TLS certificate")
    assert done.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason, endpoint.failing_since) == (True, "", None)
    audit = AuditEvent.objects.get(action="webhook_endpoint.enabled")
    assert (audit.actor_type, audit.actor_id, audit.reason) == ("staff", str(admin_user.pk),
                                                                "merchant fixed its TLS certificate")
    assert list(admin_client.get(MERCHANTS, {"webhooks": "disabled"}).context["cl"].result_list) == []


def test_the_merchant_changelist_flag_costs_no_query_per_merchant(admin_client, django_assert_max_num_queries):
    for _ in range(3):
        _disabled_for_failing(endpoint_create(MerchantFactory()).endpoint)
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(MERCHANTS)
    for _ in range(10):
        _disabled_for_failing(endpoint_create(MerchantFactory()).endpoint)
    with django_assert_max_num_queries(len(queries)):
        page = admin_client.get(MERCHANTS)
    assert page.content.count(b"webhook endpoint disabled") == 13


def test_disable_and_redeliver_actions(admin_client):
    merchant = MerchantFactory()
    endpoint = endpoint_create(merchant).endpoint
    emit(merchant)
    event = WebhookDelivery.objects.get().event
    _action(admin_client, EVENTS, "redeliver_event", [event], apply="1", change_reason="support ticket 12")
    _action(admin_client, DELIVERIES, "redeliver_delivery", [WebhookDelivery.objects.get(manual=False)], apply="1",
            change_reason="support ticket 13")
    assert WebhookDelivery.objects.filter(manual=True).count() == 2
    assert AuditEvent.objects.filter(action="webhook_event.redelivered").count() == 2

    _action(admin_client, ENDPOINTS, "disable_endpoint", [endpoint], apply="1", change_reason="abuse")
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_cause, endpoint.disabled_reason) == (False, "staff", "abuse")
    refused = _action(admin_client, EVENTS, "redeliver_event", [event], apply="1", change_reason="again")
    messages = [str(m) for m in admin_client.get(refused["Location"]).context["messages"]]
    assert any("No enabled endpoint receives this event." in m for m in messages)


def test_events_are_filtered_by_the_types_of_the_catalogue_and_only_those(admin_client):
    merchant = MerchantFactory()
    succeeded = emit(merchant, event_type="payment.succeeded")
    emit(merchant, event_type="payment.failed")

    changelist = admin_client.get(EVENTS)
    [type_filter] = [spec for spec in changelist.context["cl"].filter_specs if spec.title == "type"]
    assert [name for name, _ in type_filter.lookup_choices] == [
        "payment.canceled", "payment.captured", "payment.failed", "payment.requires_capture",
        "payment.requires_review", "payment.succeeded",
        "payout.created", "payout.failed", "payout.paid", "payout.updated",
        "refund.failed", "refund.pending", "refund.succeeded",
    ]
    filtered = admin_client.get(EVENTS, {"type": "payment.succeeded"})
    assert [ids.encode("evt", event.pk) for event in filtered.context["cl"].result_list] == [succeeded]
    # A type the catalogue does not know is an incorrect lookup: the admin says so (?e=1), lists nothing.
    unknown = admin_client.get(EVENTS, {"type": "payment.exploded"})
    assert (unknown.status_code, unknown["Location"]) == (302, f"{EVENTS}?e=1")
