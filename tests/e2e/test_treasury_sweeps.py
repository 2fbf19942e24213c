"""Sweeps in the admin, in Chromium: a treasury operator requests 1,250.500 BHD from NBB to BBK on
the request page, under the 10,000.000 BHD threshold, and lands on the sent sweep's page with its
pain.001 to download."""

import importlib
from pathlib import Path

import pytest
from django.apps import apps
from playwright.sync_api import expect

from apps.ledger.data import AccountRef, AccountRole
from apps.treasury.models import NostroAccount, Sweep
from tests.e2e.admin_pages import list_fits, sign_in
from tests.factories import ledger as ledger_factories
from tests.factories.staff import TREASURY, staff_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_nostros(idle_sessions_ended_at_exit):
    # A transactional test finds the tables emptied: the sweep policy comes back as migrated.
    importlib.import_module("apps.treasury.migrations.0004_sweep_roles_and_policy").policy_seed(apps, None)
    NostroAccount.objects.create(code="nbb-bhd-01", currency="BHD", bank_name="National Bank of Bahrain",
                                 bic="NBOBBHBM", iban="BH96NBOB00000099887766", account_name="Fincore B.S.C.",
                                 pays_out=True)
    NostroAccount.objects.create(code="bbk-bhd-01", currency="BHD", bank_name="Bank of Bahrain and Kuwait",
                                 bic="BBKUBHBM", iban="BH27BBKU00100000123456", account_name="Fincore B.S.C.")
    outcome = ledger_factories.post_one(AccountRef(AccountRole.NOSTRO, "BHD", True, name="nbb-bhd-01"),
                                        AccountRef(AccountRole.SUSPENSE, "BHD", True), 50_000_000, currency="BHD",
                                        livemode=True)
    assert outcome.result == "ok", outcome


def test_treasury_requests_a_sweep_and_downloads_its_pain001(new_page, screens, two_nostros):
    page = new_page()
    sign_in(page, staff_user(TREASURY, username="tariq"))

    page.goto("/admin/treasury/sweep/")
    page.click("text=Request a sweep")
    expect(page.locator("h1")).to_contain_text("Request a sweep between nostros")
    page.select_option("#id_from_nostro", "nbb-bhd-01")
    page.select_option("#id_to_nostro", "bbk-bhd-01")
    page.fill("#id_amount", "1250.500")
    page.fill("#id_execution_date", "2031-04-08")
    page.fill("#id_reason", "Fund BBK for Tuesday's payouts")
    screens(page, "request-form")
    page.click("#sweep-request input[type=submit]")

    expect(page.locator(".messagelist")).to_contain_text("Sent at once")
    sweep = Sweep.objects.get()
    assert (sweep.status, sweep.amount, sweep.requested_by) == ("sent", 1_250_500, "tariq")
    content = page.locator("#content")
    expect(content).to_contain_text("1250.500 BHD")
    expect(content).to_contain_text(sweep.end_to_end_id)
    screens(page, "sent-sweep")

    with page.expect_download() as download:
        page.click(".field-download a")
    assert download.value.suggested_filename.endswith(".xml")
    assert Path(download.value.path()).read_bytes() == bytes(sweep.file)

    page.goto("/admin/treasury/sweep/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    screens(page, "sweeps")
    assert list_fits(page)
