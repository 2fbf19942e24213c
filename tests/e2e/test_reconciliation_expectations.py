"""Expectations in the admin, in Chromium: a treasury operator opens the list (a payout's
expectation is there, its amount in BHD), declares a money-in movement by hand (a refused tolerance
first, with the reason shown), lands on its page, and finds it in the list filtered by source.
The live server runs on the real clock: the state is built relative to now."""

from datetime import timedelta

from playwright.sync_api import expect

from apps.core import clock
from apps.reconciliation.models import Expectation
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories.payouts import payout_nostro
from tests.factories.staff import SUPPORT, TREASURY, staff_user
from tests.support.seeds import settlement_seeds_restore


def test_treasury_declares_an_expectation_and_finds_it_in_the_list(new_page, screens):
    settlement_seeds_restore()
    payout_nostro()
    now = clock.now()
    Expectation.objects.create(
        nostro_id="nbb-bhd-01", currency="BHD", amount=-99_000, expected_date=now.date(), date_tolerance_days=1,
        source="payout", source_id="0190b4b2-0000-7000-8000-00000000abcd", reference="Payout po_x settlement stl_y",
        counterparty_name="Gulf Coffee W.L.L.", missing_after=now + timedelta(days=2), created_at=now,
        created_by="reconciliation.expectations")
    page = new_page()
    sign_in(page, staff_user(TREASURY, username="tariq"))

    page.goto("/admin/reconciliation/expectation/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("-99.000 BHD")
    expect(rows.nth(0)).to_contain_text("Unreconciled")
    assert list_fits(page)

    page.click("text=Declare an expectation")
    page.select_option("#id_nostro", "nbb-bhd-01")
    page.fill("#id_amount_0", "1.250")
    page.select_option("#id_amount_1", "BHD")
    page.fill("#id_expected_date", now.date().isoformat())
    page.fill("#id_date_tolerance_days", "1")
    page.fill("#id_amount_tolerance", "0.0005")  # more decimals than BHD has
    page.fill("#id_reference", "INV-77")
    page.fill("#id_counterparty_name", "Gulf Insurance B.S.C.")
    page.fill("#id_reason", "The insurer's refund, announced by email")
    page.click("input[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("BHD allows at most 3")
    assert Expectation.objects.filter(source="staff").count() == 0
    page.fill("#id_amount_tolerance", "0.010")
    screens(page, "declare")
    page.click("input[type=submit]")

    expect(page.locator(".messagelist")).to_contain_text("Expected 1.250 BHD on nbb-bhd-01")
    declared = Expectation.objects.get(source="staff")
    assert (declared.amount, declared.amount_tolerance, declared.reference, declared.created_by) == (
        1_250, 10, "INV-77", "tariq")
    expect(page.locator("body")).to_contain_text("No statement line yet.")
    screens(page, "declared")

    page.goto("/admin/reconciliation/expectation/?source__exact=staff")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("1.250 BHD")
    page.goto("/admin/reconciliation/expectation/")
    expect(rows).to_have_count(2)
    screens(page, "list")

    reader = new_page()
    sign_in(reader, staff_user(SUPPORT, username="sara"))
    reader.goto("/admin/reconciliation/expectation/")
    expect(reader.locator("#result_list tbody tr")).to_have_count(2)
    expect(reader.locator("text=Declare an expectation")).to_have_count(0)
