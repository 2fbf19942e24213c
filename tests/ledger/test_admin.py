"""The ledger in the admin: accounts with their balances and statement, transfers with their
status, resolution and reversal, entries and verifications; all read-only, for every role."""

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.core.actors import Actor
from apps.ledger import services
from apps.ledger.models import Account, Entry, Transfer, Verification
from tests.factories.staff import signed_in_client, staff_user
from tests.ledger.api_helpers import acc, account_opened, ledger_snapshot, tr, transfer_posted
from tests.support.time_travel import a_day_ahead

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests.ledger.admin")
T0 = a_day_ahead()  # later than the merchant and staff fixtures make at the present
MODELS = ("account", "transfer", "entry", "verification")


def _changelist(model: str) -> str:
    return f"/admin/ledger/{model}/"


def _change(model: str, pk: object) -> str:
    return f"/admin/ledger/{model}/{pk}/change/"


@pytest.fixture
def book(merchant) -> dict:
    """A funding account, a customer's wallet and a shop, in live money; a top-up, a hold posted in
    part, a hold voided, a live hold, and a purchase reversed."""
    merchant_id = merchant.pk
    with time_machine.travel(T0, tick=False):
        funding = account_opened(merchant_id, allow_overdraft=True, reference="treasury", livemode=True)
        wallet = account_opened(merchant_id, reference="customer-alice", livemode=True)
        shop = account_opened(merchant_id, reference="shop-bakery", livemode=True)
        topup = transfer_posted(merchant_id, funding, wallet, 12500, reference="top-up")
        posted_hold = transfer_posted(merchant_id, wallet, shop, 5000, pending=True, reference="order 1")
        capture = services.transfer_post_pending(pending_id=posted_hold.pk, actor=ACTOR, amount=3000,
                                                 merchant_id=merchant_id).transfer
        voided_hold = transfer_posted(merchant_id, wallet, shop, 2000, pending=True, reference="order 2")
        void = services.transfer_void_pending(pending_id=voided_hold.pk, actor=ACTOR,
                                              merchant_id=merchant_id).transfer
        live_hold = transfer_posted(merchant_id, wallet, shop, 700, pending=True, reference="order 4")
        purchase = transfer_posted(merchant_id, wallet, shop, 1500, reference="order 3")
        reversal = services.transfer_reverse(transfer_id=purchase.pk, actor=ACTOR, merchant_id=merchant_id).transfer
    return {
        "funding": funding, "wallet": wallet, "shop": shop, "topup": topup, "posted_hold": posted_hold,
        "capture": capture, "voided_hold": voided_hold, "void": void, "live_hold": live_hold,
        "purchase": purchase, "reversal": reversal,
    }


def _staff(username: str, role: str | None) -> Client:
    return signed_in_client(staff_user(*([role] if role else []), username=username))


@pytest.fixture(params=["superuser", "Support (read-only)", "Treasury operator"])
def staff_client(request, admin_client) -> Client:
    """The superuser, and people in the roles that look at the ledger most (tests/ops proves every
    role holds the ledger's view permissions)."""
    if request.param == "superuser":
        return admin_client
    return _staff(request.param.split()[0].lower(), request.param)


def _manama(instant: datetime) -> str:
    """An instant as the admin shows it: in Asia/Bahrain."""
    return f"{timezone.localtime(instant):%Y-%m-%d %H:%M:%S}"


def _text(page) -> str:
    return re.sub(r"\s+", " ", page.content.decode())


# --- every role sees it; nobody changes it ---------------------------------------------------


def test_every_role_sees_every_ledger_screen(staff_client, book):
    verification = services.ledger_check(actor=ACTOR)
    entry = Entry.objects.filter(account=book["wallet"]).first()
    pages = [_changelist(model) for model in MODELS] + [
        _change("account", book["wallet"].pk), _change("transfer", book["capture"].pk),
        _change("entry", entry.pk), _change("verification", verification.pk),
    ]

    statuses = {page: staff_client.get(page).status_code for page in pages}

    assert set(statuses.values()) == {200}, statuses
    index = staff_client.get("/admin/")
    for model in ("Accounts", "Transfers", "Entries", "Verifications"):
        assert f">{model}<" in index.content.decode()


def test_staff_without_a_role_sees_no_ledger(book):
    client = _staff("newcomer", None)

    for model in MODELS:
        assert client.get(_changelist(model)).status_code == 403


@pytest.mark.parametrize("role", ["superuser", "Support (read-only)"])
def test_nothing_can_be_added_changed_or_deleted(admin_client, book, role):
    client = admin_client if role == "superuser" else _staff("support", role)
    services.ledger_check(actor=ACTOR)
    rows = {"account": book["wallet"], "transfer": book["capture"],
            "entry": Entry.objects.filter(account=book["wallet"]).first(), "verification": Verification.objects.get()}
    before = ledger_snapshot()

    for model, row in rows.items():
        changelist = client.get(_changelist(model)).content.decode()
        change_page = client.get(_change(model, row.pk)).content.decode()
        assert f"/admin/ledger/{model}/add/" not in changelist, model
        assert "delete_selected" not in changelist, model
        assert 'name="_save"' not in change_page, model
        assert client.get(f"/admin/ledger/{model}/add/").status_code == 403, model
        assert client.get(f"/admin/ledger/{model}/{row.pk}/delete/").status_code == 403, model
        assert client.post(_change(model, row.pk), {"reference": "edited", "amount": "1"}).status_code == 403, model
        client.post(_changelist(model), {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})

    assert ledger_snapshot() == before
    assert Verification.objects.count() == 1


# --- accounts --------------------------------------------------------------------------------


def test_an_accounts_page_shows_its_balances_and_statement(admin_client, book):
    wallet = book["wallet"]

    page = admin_client.get(_change("account", wallet.pk))

    assert page.status_code == 200
    html = _text(page)
    assert acc(wallet.pk) in html
    fields = {name: re.sub(r"<[^>]+>", "", str(field)) for name, field in _readonly_fields(page).items()}
    # 12.500 in, 3.000 captured, 1.500 bought and refunded; 0.700 still held. Money as money, by BHD's 3 decimals.
    assert fields["posted_money"] == "9.500 BHD"
    assert fields["available_money"] == "8.800 BHD"
    assert (fields["debits_pending_money"], fields["debits_posted_money"]) == ("0.700 BHD", "4.500 BHD")
    assert (fields["credits_pending_money"], fields["credits_posted_money"]) == ("0.000 BHD", "14.000 BHD")
    assert '<span class="money">9.500 BHD</span>' in html
    rows = _statement_rows(html)
    # Newest first: reversal, purchase, live hold, void, hold, capture, hold, top-up. Times in Manama.
    assert rows[0] == [
        _manama(T0), "Immediate", "Credit", "0.000 BHD", "1.500 BHD", "9.500 BHD", "order 3"
    ]
    assert [row[1] for row in rows] == ["Immediate", "Immediate", "Pending (a hold)", "Voiding of a pending transfer",
                                        "Pending (a hold)", "Posting of a pending transfer", "Pending (a hold)",
                                        "Immediate"]
    # The capture, the void and the reversal were sent without a reference: each took its original's.
    assert [row[6] for row in rows] == ["order 3", "order 3", "order 4", "order 2", "order 2", "order 1", "order 1",
                                        "top-up"]
    assert [row[5] for row in rows] == ["9.500 BHD", "8.000 BHD", "9.500 BHD", "9.500 BHD", "9.500 BHD", "9.500 BHD",
                                        "12.500 BHD", "12.500 BHD"]
    assert f"/admin/ledger/entry/?q={acc(wallet.pk)}" in html


def _readonly_fields(page) -> dict[str, object]:
    """The admin's read-only field values by name, as rendered."""
    values = {}
    for fieldset in page.context["adminform"]:
        for line in fieldset:
            for field in line:
                values[field.field["name"]] = field.contents()
    return values


def _statement_rows(html: str) -> list[list[str]]:
    """The cells of the account page's statement table, as text."""
    table = re.search(r"<table><tr><th>Posted at</th>.*?</table>", html).group(0)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(<td>.*?)</tr>", table)]


def test_the_statement_shows_the_last_50_entries_in_constant_queries(admin_client, merchant,
                                                                     django_assert_max_num_queries):
    funding, wallet = account_opened(merchant.pk, allow_overdraft=True), account_opened(merchant.pk)
    for minute in range(5):
        with time_machine.travel(T0 + timedelta(minutes=minute), tick=False):
            transfer_posted(merchant.pk, funding, wallet, 100 + minute, reference=f"top-up {minute}")
    admin_client.get(_change("account", wallet.pk))
    with CaptureQueriesContext(connection) as few:
        admin_client.get(_change("account", wallet.pk))
    for minute in range(5, 55):
        with time_machine.travel(T0 + timedelta(minutes=minute), tick=False):
            transfer_posted(merchant.pk, funding, wallet, 100 + minute, reference=f"top-up {minute}")

    with django_assert_max_num_queries(len(few)):
        page = admin_client.get(_change("account", wallet.pk))

    rows = _statement_rows(_text(page))
    assert len(rows) == 50
    assert rows[0][0] == _manama(T0 + timedelta(minutes=54))
    assert rows[0][6] == "top-up 54"
    assert rows[-1][6] == "top-up 5"
    assert "Last 50 entries" in _text(page)


def test_an_account_without_entries_says_so(admin_client, merchant):
    wallet = account_opened(merchant.pk)

    assert "No entries yet." in _text(admin_client.get(_change("account", wallet.pk)))


def _found(client, model: str, term: str) -> list:
    page = client.get(_changelist(model), {"q": term})
    assert page.status_code == 200, term
    return list(page.context["cl"].result_list)


def test_accounts_are_found_by_reference_public_id_and_merchant(admin_client, book, merchant):
    assert _found(admin_client, "account", "customer-alice") == [book["wallet"]]
    assert _found(admin_client, "account", "alice") == [book["wallet"]]
    assert _found(admin_client, "account", acc(book["shop"].pk)) == [book["shop"]]
    assert _found(admin_client, "account", f"  {acc(book['shop'].pk)} ") == [book["shop"]]
    assert set(_found(admin_client, "account", str(merchant.pk))) == set(
        Account.objects.filter(merchant_id=merchant.pk))
    assert _found(admin_client, "account", "nobody") == []


def test_accounts_and_transfers_are_filtered_by_mode(admin_client, book, merchant):
    test_funding = account_opened(merchant.pk, allow_overdraft=True)
    test_wallet = account_opened(merchant.pk)
    test_topup = transfer_posted(merchant.pk, test_funding, test_wallet, 100)

    def listed(model: str, livemode: bool) -> set:
        page = admin_client.get(_changelist(model), {"q": str(merchant.pk), "livemode__exact": int(livemode)})
        assert page.status_code == 200
        return set(page.context["cl"].result_list)

    settlement = Account.objects.filter(merchant_id=merchant.pk, owner_type="merchant")
    assert listed("account", False) == {test_funding, test_wallet, *settlement.filter(livemode=False)}
    assert listed("account", True) == {book["funding"], book["wallet"], book["shop"],
                                       *settlement.filter(livemode=True)}
    assert listed("transfer", False) == {test_topup}
    assert listed("transfer", True) == set(Transfer.objects.filter(merchant_id=merchant.pk, livemode=True))
    assert len(listed("transfer", True)) == 8


def test_the_account_list_costs_the_same_queries_for_3_or_30_accounts(admin_client, merchant,
                                                                      django_assert_max_num_queries):
    for _ in range(3):
        account_opened(merchant.pk)
    admin_client.get(_changelist("account"))
    with CaptureQueriesContext(connection) as few:
        admin_client.get(_changelist("account"))
    for _ in range(27):
        account_opened(merchant.pk)

    with django_assert_max_num_queries(len(few)):
        page = admin_client.get(_changelist("account"))

    assert len(page.context["cl"].result_list) == 36  # the merchant's 6 settlement accounts (live and test) too
    assert len(few) <= 8


# --- transfers --------------------------------------------------------------------------------


def test_a_transfers_page_shows_its_status_and_what_resolved_it(admin_client, book):
    page = admin_client.get(_change("transfer", book["posted_hold"].pk))

    fields = {name: str(value) for name, value in _readonly_fields(page).items()}
    assert fields["public_id"] == tr(book["posted_hold"].pk)
    assert fields["status"] == "posted"
    assert fields["resolution"] == (
        f"<a href='/admin/ledger/transfer/{book['capture'].pk}/change/'>{tr(book['capture'].pk)}</a>")
    assert fields["reversal"] == "-"
    assert fields["amount_money"] == '<span class="money">5.000 BHD</span>'


def test_each_transfers_status_resolution_and_reversal(admin_client, book):
    def link(target: str | None) -> str:
        return "-" if target is None else (
            f"<a href='/admin/ledger/transfer/{book[target].pk}/change/'>{tr(book[target].pk)}</a>")

    def shown(name: str) -> tuple[str, str, str]:
        fields = _readonly_fields(admin_client.get(_change("transfer", book[name].pk)))
        return str(fields["status"]), str(fields["resolution"]), str(fields["reversal"])

    assert {name: shown(name) for name in ("topup", "capture", "voided_hold", "void", "live_hold", "purchase",
                                           "reversal")} == {
        "topup": ("posted", "-", "-"),
        "capture": ("posted", "-", "-"),
        "voided_hold": ("voided", link("void"), "-"),
        "void": ("voided", "-", "-"),
        "live_hold": ("pending", "-", "-"),
        "purchase": ("posted", "-", link("reversal")),
        "reversal": ("posted", "-", "-"),
    }


def test_a_reversal_links_to_what_it_reverses(admin_client, book):
    fields = _readonly_fields(admin_client.get(_change("transfer", book["reversal"].pk)))

    assert f"/admin/ledger/transfer/{book['purchase'].pk}/change/" in str(fields["reverses"])
    assert f"/admin/ledger/account/{book['shop'].pk}/change/" in str(fields["debit_account"])


def test_transfers_are_found_by_client_id_reference_public_id_and_merchant(admin_client, book, merchant):
    assert _found(admin_client, "transfer", book["topup"].client_id) == [book["topup"]]
    assert len(_found(admin_client, "transfer", str(merchant.pk))) == 8
    # The reversal, sent without a reference, took the purchase's.
    found = _found(admin_client, "transfer", "order 3")
    assert len(found) == 2
    assert set(found) == {book["purchase"], book["reversal"]}
    assert _found(admin_client, "transfer", tr(book["void"].pk)) == [book["void"]]
    assert _found(admin_client, "transfer", "no such thing") == []


def test_the_transfer_list_costs_the_same_queries_for_few_or_many(admin_client, merchant, book,
                                                                  django_assert_max_num_queries):
    admin_client.get(_changelist("transfer"))
    with CaptureQueriesContext(connection) as few:
        admin_client.get(_changelist("transfer"))
    for _ in range(30):
        transfer_posted(merchant.pk, book["funding"], book["wallet"], 1)

    with django_assert_max_num_queries(len(few)):
        page = admin_client.get(_changelist("transfer"))

    assert len(page.context["cl"].result_list) == Transfer.objects.count() == 38


# --- entries and verifications ------------------------------------------------------------------


def test_an_accounts_full_history_lists_its_entries_newest_first(admin_client, book):
    entries = _found(admin_client, "entry", str(book["funding"].pk))

    assert [entry.transfer_id for entry in entries] == [book["topup"].pk]
    wallet_entries = _found(admin_client, "entry", str(book["wallet"].pk))
    assert len(wallet_entries) == 8
    assert wallet_entries[0].transfer_id == book["reversal"].pk
    assert _found(admin_client, "entry", str(book["void"].pk)) == list(
        Entry.objects.filter(transfer=book["void"]).order_by("-posted_at", "-id"))
    assert _found(admin_client, "entry", "not-a-uuid") == []


def test_the_entry_list_costs_the_same_queries_for_few_or_many(admin_client, merchant, book,
                                                               django_assert_max_num_queries):
    admin_client.get(_changelist("entry"))
    with CaptureQueriesContext(connection) as few:
        admin_client.get(_changelist("entry"))
    for _ in range(30):
        transfer_posted(merchant.pk, book["funding"], book["wallet"], 1)

    with django_assert_max_num_queries(len(few)):
        page = admin_client.get(_changelist("entry"))

    assert len(page.context["cl"].result_list) == 76


def test_verifications_are_listed_with_their_outcome(admin_client, book):
    passed = services.ledger_check(actor=ACTOR)

    page = admin_client.get(_changelist("verification"))

    assert list(page.context["cl"].result_list) == [passed]
    assert passed.ok and passed.accounts == Account.objects.count()
    assert passed.transfers == 8
