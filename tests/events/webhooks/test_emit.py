import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.core import ids
from apps.events.outbox.models import OutboxMessage
from apps.events.webhooks.models import WebhookDelivery, WebhookEvent
from apps.events.webhooks.services import endpoints
from apps.events.webhooks.services.deliveries import webhook_event_emit
from tests.events.webhooks.helpers import emit, endpoint_create
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db


def test_emit_stores_the_event_and_one_delivery_per_subscribed_endpoint_of_the_merchant_and_mode():
    merchant, other = MerchantFactory(), MerchantFactory()
    everything = endpoint_create(merchant, events=["*"]).endpoint
    created_only = endpoint_create(merchant, events=["payment.succeeded"]).endpoint
    endpoint_create(merchant, events=["payment.failed"])
    endpoint_create(merchant, livemode=True, url="https://127.0.0.1/hook")
    endpoint_create(other)

    event_id = emit(merchant, data={"object": {"id": "pay_1", "object": "payment", "amount": 12500}})

    event = WebhookEvent.objects.get(pk=ids.decode("evt", event_id))
    assert (event.merchant_id, event.livemode, event.type) == (merchant.pk, False, "payment.succeeded")
    assert event.data == {"object": {"id": "pay_1", "object": "payment", "amount": 12500}}
    deliveries = WebhookDelivery.objects.filter(event=event)
    assert {d.endpoint_id for d in deliveries} == {everything.id, created_only.id}
    assert {d.status for d in deliveries} == {"pending"}
    messages = OutboxMessage.objects.filter(task_name="webhooks.deliver")
    assert sorted(m.kwargs["delivery_id"] for m in messages) == sorted(str(d.id) for d in deliveries)
    assert {(m.queue, m.kwargs["attempt"]) for m in messages} == {("webhooks", 0)}


@pytest.mark.django_db(transaction=True)
def test_emit_outside_a_transaction_is_refused_and_writes_nothing():
    merchant = MerchantFactory()
    with pytest.raises(RuntimeError):
        webhook_event_emit(merchant_id=merchant.pk, livemode=False, event_type="payment.succeeded",
                           data={"object": {"id": "pay_1", "object": "payment"}})
    assert not WebhookEvent.objects.exists()


def test_emit_of_a_type_not_in_the_catalogue_is_refused():
    merchant = MerchantFactory()
    with pytest.raises(ValueError, match=r"'payment\.exploded' is not in the catalogue"), transaction.atomic():
        webhook_event_emit(merchant_id=merchant.pk, livemode=False, event_type="payment.exploded",
                           data={"object": {"id": "pay_1", "object": "payment"}})
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("data", [
    {},
    {"object": "payment"},
    {"object": {"id": "re_1", "object": "refund"}},
    {"object": {"id": "pay_1"}},
])
def test_emit_of_data_not_carrying_the_object_the_catalogue_says_is_refused(data):
    merchant = MerchantFactory()
    with pytest.raises(ValueError, match=r"the data\.object of a payment\.succeeded event is a payment"), \
            transaction.atomic():
        webhook_event_emit(merchant_id=merchant.pk, livemode=False, event_type="payment.succeeded", data=data)
    assert not WebhookEvent.objects.exists()


def test_a_rolled_back_emit_leaves_no_event_delivery_or_message():
    merchant = MerchantFactory()
    endpoint_create(merchant)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        emit(merchant)
        1 / 0  # noqa: B018 - the caller's change fails after emitting
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not OutboxMessage.objects.filter(task_name="webhooks.deliver").exists()


def test_disabled_and_deleted_endpoints_get_no_delivery():
    merchant = MerchantFactory()
    disabled = endpoint_create(merchant).endpoint
    endpoints.webhook_endpoint_update(endpoint_id=disabled.pk, changes={"enabled": False},
                                      actor=endpoints._SYSTEM, reason="maintenance")
    deleted = endpoint_create(merchant).endpoint
    endpoints.webhook_endpoint_delete(endpoint_id=deleted.pk, actor=endpoints._SYSTEM)
    emit(merchant)
    assert not WebhookDelivery.objects.exists()


def test_emit_writes_the_same_few_rows_however_many_endpoints_listen():
    merchant = MerchantFactory()
    endpoint_create(merchant, events=["*"])
    with CaptureQueriesContext(connection) as one_endpoint:
        emit(merchant)
    for _ in range(4):
        endpoint_create(merchant, events=["*"])

    with CaptureQueriesContext(connection) as five_endpoints:
        emit(merchant)

    assert len(five_endpoints) == len(one_endpoint)
    assert OutboxMessage.objects.filter(task_name="webhooks.deliver").count() == 6
