"""Statement import in the admin, in Chromium: a treasury operator saves NBB's CSV column mapping
(with a reason, checked against a sample the bank sent), then uploads a day's CSV choosing that
mapping and reads the imported statement with its lines in fils."""

from pathlib import Path

from playwright.sync_api import expect

from apps.reconciliation.models import BankStatement, CsvStatementMapping
from apps.treasury.models import NostroAccount
from tests.e2e.admin_pages import sign_in
from tests.factories.staff import TREASURY, staff_user
from tests.reconciliation.test_csv_mapping import NBB_CSV


def test_treasury_saves_a_csv_mapping_and_imports_a_csv_statement(new_page, screens, tmp_path: Path):
    NostroAccount.objects.create(code="nbb-bhd-01", currency="BHD", bank_name="National Bank of Bahrain",
                                 bic="NBOBBHBM", iban="BH67BMAG00001299123456", account_name="Fincore B.S.C.")
    csv = tmp_path / "nbb-2026-11-29.csv"
    csv.write_bytes(NBB_CSV)
    page = new_page()
    sign_in(page, staff_user(TREASURY, username="tariq"))

    page.goto("/admin/reconciliation/csvstatementmapping/add/")
    page.fill("#id_name", "NBB daily CSV")
    page.select_option("#id_nostro", "nbb-bhd-01")
    page.select_option("#id_delimiter", ";")
    page.fill("#id_date_format", "%d/%m/%Y")
    page.fill("#id_decimal_separator", ",")
    page.fill("#id_booking_date", "Date")
    page.fill("#id_value_date", "Value date")
    page.fill("#id_debit", "Debit")
    page.fill("#id_credit", "Credit")
    page.fill("#id_currency", "BHD")
    page.fill("#id_reference", "Reference")
    page.fill("#id_description", "Details")
    page.fill("#id_closing_balance", "Balance")
    page.set_input_files("#id_sample", str(csv))
    page.fill("#id_change_reason", "NBB's CSV export, as agreed with the bank")
    screens(page, "mapping-form")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("The sample reads as 2 statement line(s).")
    screens(page, "mappings")
    assert CsvStatementMapping.objects.get().nostro_id == "nbb-bhd-01"

    page.goto("/admin/reconciliation/bankstatement/import/")
    page.set_input_files("#id_statement", str(csv))
    page.select_option("#id_mapping", "NBB daily CSV")
    screens(page, "upload")
    page.click("input[type=submit][value=Import]")
    expect(page.locator(".messagelist")).to_contain_text("2026-11-29.csv: 1 statement(s) imported")
    screens(page, "statement")
    expect(page.locator("body")).to_contain_text("1011.250 BHD")
    statement = BankStatement.objects.get()
    assert (statement.format, statement.closing_balance, statement.lines.count()) == ("csv", 1_011_250, 2)
