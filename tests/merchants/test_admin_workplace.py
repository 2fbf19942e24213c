"""Merchants' lists: API keys name their merchant and are found by its legal name or ``mer_...``,
at the same cost for few or many; the merchant list exports."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import ids
from apps.merchants.models import ApiKey
from tests.factories.merchants import MerchantFactory, api_key_issue

pytestmark = pytest.mark.django_db

KEYS = "/admin/merchants/apikey/"


def test_api_keys_show_and_find_their_merchant_by_name_or_id(admin_client):
    bakery = MerchantFactory(legal_name="Gulf Bakery W.L.L.")
    api_key_issue(bakery)
    api_key_issue(MerchantFactory(legal_name="Rose Florist"))
    bakery_keys = set(ApiKey.objects.filter(merchant=bakery))

    assert set(admin_client.get(KEYS, {"q": "bakery"}).context["cl"].result_list) == bakery_keys
    assert set(admin_client.get(KEYS, {"q": ids.encode("mer", bakery.pk)}).context["cl"].result_list) == bakery_keys
    assert set(admin_client.get(KEYS, {"merchant": "gulf"}).context["cl"].result_list) == bakery_keys
    html = admin_client.get(KEYS).content.decode()
    assert f'<a href="/admin/merchants/merchant/{bakery.pk}/change/">Gulf Bakery W.L.L.</a>' in html


def test_the_api_key_list_costs_the_same_queries_for_2_or_20_merchants(admin_client):
    for _ in range(2):
        api_key_issue(MerchantFactory())
    admin_client.get(KEYS)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(KEYS)
    for _ in range(18):
        api_key_issue(MerchantFactory())
    with CaptureQueriesContext(connection) as more:
        assert len(admin_client.get(KEYS).context["cl"].result_list) == 20
    assert len(more) == len(few)


def test_the_merchant_list_exports_with_public_ids(admin_client):
    bakery = MerchantFactory(legal_name="Gulf Bakery W.L.L.", currencies=["BHD", "USD"])
    response = admin_client.get("/admin/merchants/merchant/export-csv/", {"q": "bakery"})
    [row] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (row["id"], row["legal_name"], row["currencies"], row["status"]) == (
        ids.encode("mer", bakery.pk), "Gulf Bakery W.L.L.", '["BHD", "USD"]', "active")
