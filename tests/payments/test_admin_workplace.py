"""Payments in the admin as a workplace: money as money, merchants by name, search by every id
staff see, merchant and date-range filters, the journal link, and lists whose cost does not grow
with their rows."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.core import ids
from apps.payments import services
from apps.payments.models import Payment
from tests.factories.merchants import FACTORY_ACTOR, MerchantFactory
from tests.factories.payments import bulk_payments, bulk_refunds_and_captures
from tests.payments.conftest import processed

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/payments/payment/"


def _listed(client, url: str, **params) -> list:
    page = client.get(url, params)
    assert page.status_code == 200, params
    return list(page.context["cl"].result_list)


def test_the_payment_list_shows_money_as_money_and_the_merchant_by_name(admin_client, merchant, routing):
    payment = processed(merchant, amount=1500)

    html = admin_client.get(PAYMENTS).content.decode()

    assert '<td class="field-amount_money"><span class="money">1.500 BHD</span></td>' in html
    merchant_page = f"/admin/merchants/merchant/{merchant.pk}/change/"
    assert f'<a href="{merchant_page}">{merchant.legal_name}</a>' in html
    assert str(payment) == "1.500 BHD card (succeeded)"
    assert '<link rel="stylesheet" href="/static/fincore/admin.css">' in html


def test_the_payment_page_shows_money_in_its_fields_inlines_and_title_and_links_its_journal(admin_client, merchant,
                                                                                          routing):
    payment = processed(merchant, amount=12500, capture_method="manual")
    services.payment_capture(payment_id=payment.pk, actor=FACTORY_ACTOR, amount=12000)
    services.payment_refund(payment_id=payment.pk, amount=100, reason="goodwill", actor=FACTORY_ACTOR)

    page = admin_client.get(f"{PAYMENTS}{payment.pk}/change/")

    html = page.content.decode()
    fields = {field.field["name"]: str(field.contents()) for fieldset in page.context["adminform"]
              for line in fieldset for field in line}
    assert fields["amount_money"] == '<span class="money">12.500 BHD</span>'
    assert fields["amount_captured_money"] == '<span class="money">12.000 BHD</span>'
    assert fields["amount_refund_reserved_money"] == '<span class="money">0.100 BHD</span>'
    assert merchant.legal_name in fields["merchant_name"]
    inline_amounts = re.findall(r'<td class="field-amount_money">\s*<p>(.*?)</p>', html)
    assert inline_amounts == ['<span class="money">12.000 BHD</span>',  # the capture
                              '<span class="money">0.100 BHD</span>']  # the refund
    assert "12.500 BHD card (succeeded)" in html  # the title
    assert f'href="/admin/audit/auditevent/?object_type=payments.payment&amp;object_id={payment.pk}"' in html
    journal = admin_client.get("/admin/audit/auditevent/", {"object_type": "payments.payment",
                                                            "object_id": str(payment.pk)})
    shown = {event.pk for event in journal.context["cl"].result_list}
    assert shown and shown == set(AuditEvent.objects.filter(object_type="payments.payment", object_id=str(payment.pk))
                                  .values_list("pk", flat=True))


def test_payments_are_found_by_merchant_name_public_ids_reference_and_connector(admin_client, merchant, routing):
    mine = processed(merchant, reference="INV-2030-0042")
    other_merchant = MerchantFactory(legal_name="Gulf Bakery W.L.L.")
    theirs = bulk_payments(other_merchant, 1, reference="cake")[0]

    assert _listed(admin_client, PAYMENTS, q=ids.encode("pay", mine.pk)) == [mine]
    assert _listed(admin_client, PAYMENTS, q=ids.encode("mer", other_merchant.pk)) == [theirs]
    assert _listed(admin_client, PAYMENTS, q="gulf bakery") == [theirs]
    assert _listed(admin_client, PAYMENTS, q="INV-2030-0042") == [mine]
    assert _listed(admin_client, PAYMENTS, q="alpha") == [mine]  # the connector that took it
    assert _listed(admin_client, PAYMENTS, q="nobody at all") == []


def test_refunds_captures_and_attempts_are_found_by_their_payments_id_and_merchant(admin_client, merchant, routing):
    payment = processed(merchant)
    refund = services.payment_refund(payment_id=payment.pk, amount=100, reason="goodwill", actor=FACTORY_ACTOR)
    other = bulk_payments(MerchantFactory(), 2)
    bulk_refunds_and_captures(other)
    pay_id = ids.encode("pay", payment.pk)

    assert [r.pk for r in _listed(admin_client, "/admin/payments/refund/", q=pay_id)] == [refund.pk]
    assert [c.payment_id for c in _listed(admin_client, "/admin/payments/capture/",
                                          q=ids.encode("pay", other[1].pk))] == [other[1].pk]
    assert [a.payment_id for a in _listed(admin_client, "/admin/payments/paymentattempt/", q=pay_id)] == [payment.pk]
    assert {r.payment_id for r in _listed(admin_client, "/admin/payments/refund/", q=merchant.legal_name)} == {
        payment.pk}
    assert {c.payment_id for c in _listed(admin_client, "/admin/payments/capture/",
                                          merchant=ids.encode("mer", other[0].merchant_id))} == {o.pk for o in other}


def test_the_merchant_filter_takes_a_name_or_an_id_and_lists_no_merchants(admin_client):
    bakery, florist = MerchantFactory(legal_name="Gulf Bakery W.L.L."), MerchantFactory(legal_name="Rose Florist")
    bread, roses = bulk_payments(bakery, 2), bulk_payments(florist, 1)

    assert set(_listed(admin_client, PAYMENTS, merchant="bakery")) == set(bread)
    assert _listed(admin_client, PAYMENTS, merchant=ids.encode("mer", florist.pk)) == roses
    assert _listed(admin_client, PAYMENTS, merchant=str(florist.pk)) == roses
    page = admin_client.get(PAYMENTS, {"merchant": "bakery", "status__exact": "processing"})
    html = page.content.decode()
    # The filter is a typed box that keeps the list's other filters; it lists no merchant names.
    assert 'name="merchant" value="bakery"' in html
    assert '<input type="hidden" name="status__exact" value="processing">' in html
    assert "Rose Florist" not in html
    assert len(page.context["cl"].result_list) == 2


def test_the_date_range_takes_bahrain_days_both_included(admin_client, merchant):
    # 2030-01-01 21:30 UTC is already 2 January in Manama (UTC+3).
    late_on_the_1st_utc = bulk_payments(merchant, 1, created_at=datetime(2030, 1, 1, 21, 30, tzinfo=UTC))
    on_the_3rd = bulk_payments(merchant, 1, created_at=datetime(2030, 1, 3, 20, 59, tzinfo=UTC))
    on_the_4th = bulk_payments(merchant, 1, created_at=datetime(2030, 1, 3, 21, 0, tzinfo=UTC))

    assert set(_listed(admin_client, PAYMENTS, created_at_from="2030-01-02", created_at_to="2030-01-03")) == {
        *late_on_the_1st_utc, *on_the_3rd}
    assert _listed(admin_client, PAYMENTS, created_at_from="2030-01-04") == on_the_4th
    assert set(_listed(admin_client, PAYMENTS, created_at_to="2030-01-02")) == set(late_on_the_1st_utc)
    assert admin_client.get(PAYMENTS, {"created_at_from": "2nd of Jan"}).status_code == 302  # ?e=1
    page = admin_client.get(PAYMENTS)
    assert page.context["cl"].date_hierarchy == "created_at"


def test_refunds_have_the_date_range_too(admin_client, merchant):
    bulk_refunds_and_captures(bulk_payments(merchant, 2))
    assert len(_listed(admin_client, "/admin/payments/refund/", created_at_from="2030-01-05",
                       created_at_to="2030-01-05")) == 2
    assert _listed(admin_client, "/admin/payments/refund/", created_at_from="2030-01-06") == []


@pytest.mark.parametrize("model", ["payment", "refund", "capture", "paymentattempt"])
def test_each_payments_list_costs_the_same_queries_for_3_or_30_rows_of_3_or_30_merchants(admin_client, model,
                                                                                          routing):
    def add(count: int) -> None:
        for _ in range(count):
            merchant = MerchantFactory()
            payments = bulk_payments(merchant, 1)
            bulk_refunds_and_captures(payments)
            if model == "paymentattempt":
                processed(merchant)

    add(3)
    url = f"/admin/payments/{model}/"
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == 200
    add(27)
    with CaptureQueriesContext(connection) as more:
        page = admin_client.get(url)
    assert len(page.context["cl"].result_list) >= 30
    assert len(more) == len(few), [q["sql"][:120] for q in more.captured_queries]


def test_a_wide_list_puts_the_important_columns_first():
    from django.contrib import admin

    payment_admin = admin.site._registry[Payment]
    assert payment_admin.list_display[:5] == ("public_id", "created_at", "merchant_name", "status", "amount_money")
    assert len(payment_admin.list_display) <= 9


def test_money_columns_are_right_aligned_by_the_stylesheet(client):
    css = client.get("/static/fincore/admin.css")
    text = b"".join(css.streaming_content if css.streaming else [css.content]).decode()
    assert re.search(r"th\[class\*=\"_money\"\].*text-align: right", text, re.S)
    assert ".money {" in text


def test_search_by_a_public_id_hits_the_primary_key_index_not_a_text_scan(admin_client, merchant):
    payment = bulk_payments(merchant, 1)[0]
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(PAYMENTS, {"q": ids.encode("pay", payment.pk)})
    listing = [q["sql"] for q in queries.captured_queries if 'FROM "payments_payment"' in q["sql"]
               and "LIMIT" in q["sql"] and "COUNT" not in q["sql"]]
    assert listing and all(f'"payments_payment"."id" = \'{payment.pk}\'' in sql or
                           f'"payments_payment"."id" = \'{payment.pk.hex}\'' in sql for sql in listing)
    assert all("UPPER" not in sql for sql in listing)


def test_the_rows_of_other_days_are_a_date_hierarchy_away(admin_client, merchant):
    bulk_payments(merchant, 1, created_at=datetime(2030, 1, 5, 9, 0, tzinfo=UTC))
    bulk_payments(merchant, 1, created_at=datetime(2030, 2, 5, 9, 0, tzinfo=UTC) + timedelta(days=1))
    assert len(_listed(admin_client, PAYMENTS, created_at__year="2030", created_at__month="1")) == 1
