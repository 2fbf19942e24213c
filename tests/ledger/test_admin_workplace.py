"""The ledger's lists as a workplace: money as money, merchants by legal name, search by the ids
staff see (an account's ``acc_...`` finds transfers on either side), transfers by date range, and
exports in major units."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.core import ids
from tests.factories.merchants import MerchantFactory
from tests.ledger.api_helpers import acc, account_opened, tr, transfer_posted
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

T0 = a_day_ahead()
TRANSFERS = "/admin/ledger/transfer/"


def _listed(client, url: str, **params) -> list:
    page = client.get(url, params)
    assert page.status_code == 200, params
    return list(page.context["cl"].result_list)


@pytest.fixture
def moves(merchant) -> dict:
    """A top-up on T0, a purchase two days later, and another merchant's transfer."""
    with time_machine.travel(T0, tick=False):
        funding = account_opened(merchant.pk, allow_overdraft=True, reference="treasury")
        wallet = account_opened(merchant.pk, reference="customer-alice")
        shop = account_opened(merchant.pk, reference="shop-bakery")
        topup = transfer_posted(merchant.pk, funding, wallet, 12500, reference="top-up")
        bakery = MerchantFactory(legal_name="Gulf Bakery W.L.L.")
        their_funding = account_opened(bakery.pk, allow_overdraft=True)
        their_wallet = account_opened(bakery.pk)
        theirs = transfer_posted(bakery.pk, their_funding, their_wallet, 7)
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        purchase = transfer_posted(merchant.pk, wallet, shop, 1500, reference="order 3")
    return {"funding": funding, "wallet": wallet, "shop": shop, "topup": topup, "purchase": purchase,
            "theirs": theirs, "bakery": bakery}


def test_the_transfer_list_shows_money_and_the_merchant_by_name(admin_client, moves, merchant):
    html = admin_client.get(TRANSFERS).content.decode()

    assert '<td class="field-amount_money"><span class="money">12.500 BHD</span></td>' in html
    assert '<td class="field-amount_money"><span class="money">0.007 BHD</span></td>' in html
    assert f'<a href="/admin/merchants/merchant/{merchant.pk}/change/">{merchant.legal_name}</a>' in html
    assert str(moves["purchase"]).startswith("immediate 1.500 BHD [")


def test_an_accounts_id_finds_the_transfers_on_either_side(admin_client, moves):
    wallet = acc(moves["wallet"].pk)
    assert set(_listed(admin_client, TRANSFERS, q=wallet)) == {moves["topup"], moves["purchase"]}
    assert _listed(admin_client, TRANSFERS, q=acc(moves["shop"].pk)) == [moves["purchase"]]
    assert _listed(admin_client, TRANSFERS, q=tr(moves["topup"].pk)) == [moves["topup"]]
    assert _listed(admin_client, TRANSFERS, q="gulf bakery") == [moves["theirs"]]
    assert _listed(admin_client, TRANSFERS, q=ids.encode("mer", moves["bakery"].pk)) == [moves["theirs"]]
    assert _listed(admin_client, TRANSFERS, merchant="Gulf Bakery") == [moves["theirs"]]


def test_transfers_have_a_date_range_in_bahrain_days_and_a_date_hierarchy(admin_client, moves):
    first_day = timezone.localtime(T0).date()
    later = (first_day + timedelta(days=2)).isoformat()

    assert set(_listed(admin_client, TRANSFERS, created_at_from=first_day.isoformat(),
                       created_at_to=first_day.isoformat())) == {moves["topup"], moves["theirs"]}
    assert _listed(admin_client, TRANSFERS, created_at_from=later) == [moves["purchase"]]
    assert _listed(admin_client, TRANSFERS, created_at_from=(first_day + timedelta(days=1)).isoformat(),
                   created_at_to=(first_day + timedelta(days=1)).isoformat()) == []
    assert admin_client.get(TRANSFERS).context["cl"].date_hierarchy == "created_at"


def test_entries_are_found_by_their_accounts_or_transfers_id_with_money_shown(admin_client, moves):
    entries = _listed(admin_client, "/admin/ledger/entry/", q=tr(moves["purchase"].pk))
    assert {entry.account_id for entry in entries} == {moves["wallet"].pk, moves["shop"].pk}
    assert {e.transfer_id for e in _listed(admin_client, "/admin/ledger/entry/", q=acc(moves["shop"].pk))} == {
        moves["purchase"].pk}
    html = admin_client.get("/admin/ledger/entry/", {"q": acc(moves["shop"].pk)}).content.decode()
    assert '<td class="field-posted_change_money"><span class="money">1.500 BHD</span></td>' in html


def test_the_account_list_shows_balances_as_money_and_the_merchant(admin_client, moves, merchant):
    html = admin_client.get("/admin/ledger/account/", {"q": "customer-alice"}).content.decode()
    assert '<td class="field-posted_money"><span class="money">11.000 BHD</span></td>' in html
    assert '<td class="field-available_money"><span class="money">11.000 BHD</span></td>' in html
    assert merchant.legal_name in html
    assert _listed(admin_client, "/admin/ledger/account/", q=merchant.legal_name.upper())


def test_a_transfer_export_has_major_units_and_both_accounts(admin_client, moves):
    response = admin_client.get("/admin/ledger/transfer/export-csv/", {"q": acc(moves["wallet"].pk)})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {tr(moves["topup"].pk), tr(moves["purchase"].pk)}
    purchase = by_id[tr(moves["purchase"].pk)]
    assert (purchase["amount"], purchase["currency"], purchase["reference"]) == ("1.500", "BHD", "order 3")
    assert (purchase["debit_account_id"], purchase["credit_account_id"]) == (str(moves["wallet"].pk),
                                                                            str(moves["shop"].pk))


def test_each_change_page_links_its_history_in_the_journal(admin_client, moves):
    page = admin_client.get(f"/admin/ledger/account/{moves['wallet'].pk}/change/").content.decode()
    journal = f"/admin/audit/auditevent/?object_type=ledger.account&amp;object_id={moves['wallet'].pk}"
    assert f'href="{journal}" class="journal-link"' in page


@pytest.mark.parametrize("model", ["entry", "verification"])
def test_entries_and_verifications_cost_the_same_queries_for_few_or_many(admin_client, merchant, model):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.core.actors import Actor
    from apps.ledger import services

    funding, wallet = account_opened(merchant.pk, allow_overdraft=True), account_opened(merchant.pk)

    def add(count: int) -> None:
        for n in range(count):
            transfer_posted(merchant.pk, funding, wallet, 100 + n)
            if model == "verification":
                services.ledger_check(actor=Actor.system("tests"))

    add(2)
    url = f"/admin/ledger/{model}/"
    admin_client.get(url)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(url)
    add(20)
    with CaptureQueriesContext(connection) as more:
        page = admin_client.get(url)
    assert len(page.context["cl"].result_list) >= 22
    assert len(more) == len(few)
