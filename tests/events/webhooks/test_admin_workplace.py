"""The webhook lists name their merchant: a linked legal name, search and a typed filter by the name
or ``mer_...``, at the same cost for one merchant or many."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import ids
from apps.events.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.events.webhooks.helpers import emit, endpoint_create
from tests.factories.merchants import MerchantFactory

pytestmark = pytest.mark.django_db

LISTS = {"webhookendpoint": WebhookEndpoint, "webhookevent": WebhookEvent, "webhookdelivery": WebhookDelivery}


def _listed(client, model: str, **params) -> list:
    page = client.get(f"/admin/events/{model}/", params)
    assert page.status_code == 200, params
    return list(page.context["cl"].result_list)


def _merchant_with_traffic(**fields):
    merchant = MerchantFactory(**fields)
    endpoint_create(merchant)
    emit(merchant)
    return merchant


def test_every_webhook_list_names_and_finds_the_merchant(admin_client):
    bakery = _merchant_with_traffic(legal_name="Gulf Bakery W.L.L.")
    _merchant_with_traffic(legal_name="Rose Florist")

    for model, rows in LISTS.items():
        merchant_of = (lambda row: row.endpoint.merchant_id) if model == "webhookdelivery" else (
            lambda row: row.merchant_id)
        expected = {row.pk for row in rows.objects.all() if merchant_of(row) == bakery.pk}
        assert expected, model
        assert {row.pk for row in _listed(admin_client, model, q="gulf bakery")} == expected, model
        assert {row.pk for row in _listed(admin_client, model, merchant="Bakery")} == expected, model
        assert {row.pk for row in _listed(admin_client, model, merchant=ids.encode("mer", bakery.pk))} == expected
        html = admin_client.get(f"/admin/events/{model}/").content.decode()
        assert f'<a href="/admin/merchants/merchant/{bakery.pk}/change/">Gulf Bakery W.L.L.</a>' in html, model


@pytest.mark.parametrize("model", list(LISTS))
def test_the_merchant_column_costs_no_query_per_row(admin_client, model):
    _merchant_with_traffic()
    url = f"/admin/events/{model}/"
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    for _ in range(5):
        _merchant_with_traffic()
    with CaptureQueriesContext(connection) as more:
        assert len(admin_client.get(url).context["cl"].result_list) == 6
    assert len(more) == len(few)
