"""A day's work in the admin, in Chromium: the dashboard shows a payment taken through the API a
moment before, money reads as money, a payment is found by its merchant's name, a filtered list
is exported and read back, and support sees everything but can change nothing."""

import csv
import io
import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from apps.core import ids
from apps.payments.models import Payment
from apps.routing.models import Connector
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories.merchants import merchant_with_key
from tests.factories.routing import sandbox_seeded
from tests.factories.staff import SUPPORT, TREASURY, staff_user
from tests.support.workers import WorkerProcess, purge_all_queues, running_worker, wait_until


@pytest.fixture
def payments_worker() -> Iterator[WorkerProcess]:
    purge_all_queues()
    sandbox_seeded()
    Connector.objects.update(latency_ms=0)
    with running_worker("payments") as worker:
        yield worker


def _pay(admin_server, secret: str, amount: int, reference: str) -> str:
    answer = admin_server.request(
        "POST", "/api/v1/payments",
        body=json.dumps({"amount": amount, "currency": "BHD", "country": "BH", "reference": reference,
                         "payment_method": {"type": "card", "token": "tok_success"}}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json",
                 "Idempotency-Key": reference},
    )
    assert answer.status == 202, answer.body
    return answer.json()["id"]


def _succeeded(public_id: str) -> bool:
    return Payment.objects.filter(pk=ids.decode("pay", public_id), status="succeeded").exists()


def test_a_payment_taken_through_the_api_shows_on_the_dashboard_and_is_found_by_the_merchants_name(
    new_page, screens, admin_server, payments_worker
):
    _, secret = merchant_with_key(legal_name="Gulf Bakery W.L.L.")
    _, other_secret = merchant_with_key(legal_name="Pearl Electronics Co.")
    paid = _pay(admin_server, secret, 12500, "INV-0042")
    other = _pay(admin_server, other_secret, 700, "INV-0043")
    wait_until(lambda: _succeeded(paid) and _succeeded(other), timeout=60)

    page = new_page()
    sign_in(page, staff_user(TREASURY, username="tariq"))
    volume = page.locator(".tile", has_text="Payments: today and the last 7 days")
    expect(volume).to_contain_text("13.200 BHD")  # 12.500 + 0.700 captured today, by the currency's 3 decimals
    screens(page, "dashboard")

    volume.locator(".volume-test-card-BHD a").first.click()  # today's card payments in BHD
    expect(page.locator("#result_list")).to_contain_text("12.500 BHD")
    screens(page, "todays-card-payments")

    page.fill("#searchbar", "Gulf Bakery")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(paid)
    expect(rows.first).to_contain_text("Gulf Bakery W.L.L.")
    amount = rows.first.locator(".money")
    expect(amount).to_have_text("12.500 BHD")
    assert amount.evaluate("cell => getComputedStyle(cell).textAlign") == "right"
    screens(page, "found-by-merchant-name")
    assert list_fits(page)

    rows.first.locator("th a").click()
    expect(page.locator("h2").first).to_contain_text("12.500 BHD")  # the payment's title: money, not fils
    screens(page, "payment")


def test_a_filtered_list_is_exported_as_csv_and_reads_back(new_page, screens, admin_server, payments_worker):
    bakery, secret = merchant_with_key(legal_name="Gulf Bakery W.L.L.")
    _, other_secret = merchant_with_key(legal_name="Pearl Electronics Co.")
    taken = [_pay(admin_server, secret, amount, f"INV-{n}") for n, amount in enumerate((12500, 1, 250000))]
    other = _pay(admin_server, other_secret, 700, "INV-9")
    wait_until(lambda: all(_succeeded(payment) for payment in [*taken, other]), timeout=60)

    page = new_page()
    sign_in(page, staff_user(SUPPORT, username="salma"))
    page.goto("/admin/payments/payment/")
    page.fill("#searchbar", ids.encode("mer", bakery.pk))
    page.press("#searchbar", "Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    screens(page, "filtered")
    assert list_fits(page)
    with page.expect_download() as download:
        page.click("text=Export CSV")
    content = download.value.path().read_text()

    exported = list(csv.DictReader(io.StringIO(content)))
    read_back = sorted((row["id"], row["amount"], row["currency"], row["merchant_legal_name"]) for row in exported)
    amounts = ("12.500", "0.001", "250.000")  # major units, by the currency's 3 decimals
    assert read_back == sorted((payment, amount, "BHD", "Gulf Bakery W.L.L.")
                               for payment, amount in zip(taken, amounts, strict=True))


def test_support_sees_everything_but_can_change_nothing(new_page, screens, admin_server):
    merchant, _ = merchant_with_key(legal_name="Gulf Bakery W.L.L.")
    page = new_page()
    sign_in(page, staff_user(SUPPORT, username="salma"))

    page.goto(f"/admin/merchants/merchant/{merchant.pk}/change/")
    expect(page.locator("h1")).to_have_text("View merchant")
    expect(page.locator("input[name=_save]")).to_have_count(0)
    expect(page.locator("textarea, input[type=text]:not(#searchbar)")).to_have_count(0)
    screens(page, "merchant-read-only")

    page.goto("/admin/merchants/merchant/")
    actions = page.locator("select[name=action] option")
    assert [option for option in actions.all_inner_texts() if re.search(r"suspen|reactiv|key", option, re.I)] == []
    screens(page, "merchants-no-actions")
    page.goto("/admin/compliance/approvalrequest/adjustment/")
    expect(page.locator("h1")).to_contain_text("403")
    screens(page, "adjustment-refused")
