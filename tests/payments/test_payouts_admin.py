"""Payouts in the admin: a read-only list at a fixed number of queries (merchant and money columns,
status, currency, approval and date filters, search by po_ and end-to-end id), its CSV export, the
detail page with its history, and "Request release", which only makes a maker-checker request."""

import csv
import io

import pytest
from django.urls import reverse

from apps.compliance.models import ApprovalRequest
from apps.core import ids
from apps.payments import services
from tests.factories.payouts import funded_merchant, payout
from tests.factories.staff import SUPPORT, TREASURY, signed_in_client, staff_user

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:payments_payout_changelist")


def test_the_list_shows_money_and_merchants_and_costs_the_same_for_few_or_many(
        admin_client, django_assert_num_queries):
    merchant = funded_merchant(30_000_000, legal_name="Gulf Bakery W.L.L.")
    small = payout(merchant, 12_500, reference="stl_0")
    admin_client.get(CHANGELIST)
    # The session, the user, their device, the count, the page and the currencies of the filter.
    with django_assert_num_queries(6):
        few = admin_client.get(CHANGELIST)
    for n in range(1, 20):
        payout(merchant, 1000 + n, reference=f"stl_{n}")
    large = payout(merchant, 12_000_000, reference="stl_large")
    with django_assert_num_queries(6):
        many = admin_client.get(CHANGELIST)

    assert len(few.context["cl"].result_list) == 1 and len(many.context["cl"].result_list) == 21
    page = many.content.decode()
    assert "12.500 BHD" in page and "Gulf Bakery W.L.L." in page and "waiting" in page
    waiting = admin_client.get(CHANGELIST, {"approval": "waiting"})
    assert [p.pk for p in waiting.context["cl"].result_list] == [large.pk]
    for term in (ids.encode("po", small.pk), small.end_to_end_id, "stl_0"):
        found = admin_client.get(CHANGELIST, {"q": term})
        assert [p.pk for p in found.context["cl"].result_list] == [small.pk], term
    assert admin_client.get(CHANGELIST, {"status": "paid"}).context["cl"].result_list.count() == 0
    dated = admin_client.get(CHANGELIST, {"created_at_from": "2000-01-01", "created_at_to": "2000-01-02"})
    assert list(dated.context["cl"].result_list) == []


def test_the_list_exports_amounts_in_major_units():
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)
    client = signed_in_client(staff_user(SUPPORT))

    response = client.get(reverse("admin:payments_payout_export_csv"))

    [row] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (row["id"], row["amount"], row["currency"], row["status"], row["end_to_end_id"]) == (
        ids.encode("po", made.pk), "12.500", "BHD", "pending", made.end_to_end_id)


def test_the_detail_page_links_the_bank_account_and_the_journal(admin_client):
    merchant = funded_merchant(50_000)
    made = payout(merchant, 12_500)

    page = admin_client.get(reverse("admin:payments_payout_change", args=[made.pk])).content.decode()

    assert ids.encode("ba", made.bank_account_id) in page
    assert f"object_type=payments.payout&amp;object_id={made.pk}" in page
    assert "BH67BMAG00001299123456" in page  # staff see the whole IBAN


def test_treasury_requests_the_release_of_a_payout_waiting_for_approval():
    merchant = funded_merchant(20_000_000)
    large = payout(merchant, 12_000_000)
    client = signed_in_client(staff_user(TREASURY, username="tariq"))

    confirm = client.post(CHANGELIST, {"action": "request_release", "_selected_action": [large.pk]})
    assert confirm.status_code == 200 and "Request release" in confirm.content.decode()
    done = client.post(CHANGELIST, {"action": "request_release", "_selected_action": [large.pk], "apply": "1",
                                    "change_reason": "merchant confirmed by phone"})

    assert done.status_code == 302
    request = ApprovalRequest.objects.get()
    assert (request.action, request.arguments, request.state, request.amount) == (
        services.PAYOUT_RELEASE, {"payout_id": str(large.pk)}, "pending", 12_000_000)
    large.refresh_from_db()
    assert large.approved_at is None


def test_support_sees_payouts_but_may_not_request_a_release():
    merchant = funded_merchant(20_000_000)
    large = payout(merchant, 12_000_000)
    client = signed_in_client(staff_user(SUPPORT))

    assert client.get(CHANGELIST).status_code == 200
    client.post(CHANGELIST, {"action": "request_release", "_selected_action": [large.pk], "apply": "1",
                             "change_reason": "no"})
    assert ApprovalRequest.objects.count() == 0
