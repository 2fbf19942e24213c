"""CSV statements through saved column mappings: the mapping's database checks, and each import
path (the service, manage.py statement_import --mapping / --nostro, the admin's upload, the
mapping's own admin) storing a BHD CSV exactly, or, refused, nothing."""

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.core.actors import Actor
from apps.reconciliation.exceptions import (
    StatementAccountUnknown,
    StatementFormatUnsupported,
    StatementMalformed,
    StatementMappingMismatch,
    StatementMappingUnknown,
)
from apps.reconciliation.models import BankStatement, BankStatementLine, CsvStatementMapping
from apps.reconciliation.services.statements import statement_import
from apps.treasury.models import NostroAccount
from tests.factories.staff import signed_in_client, staff_user

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests.reconciliation")
# How the National Bank of Bahrain's (made-up) export reads: day first, separate debit and credit.
NBB_CSV = (
    b"Date;Value date;Details;Reference;Debit;Credit;Balance\n"
    b"29/11/2026;29/11/2026;Demo Bakery W.L.L.;pay_01M8FVRFV3;;12,500;1012,500\n"
    b"29/11/2026;30/11/2026;Payout po_9;po_9;1,250;;1011,250\n"
)


def nbb(code: str = "nbb-bhd-01", *, iban: str = "BH67BMAG00001299123456", bic: str = "NBOBBHBM") -> NostroAccount:
    return NostroAccount.objects.create(code=code, currency="BHD", bank_name="National Bank of Bahrain", bic=bic,
                                        iban=iban, account_name="Fincore B.S.C.")


def nbb_mapping(name: str = "NBB daily CSV", **fields) -> CsvStatementMapping:
    defaults = dict(nostro_id="nbb-bhd-01", delimiter=";", date_format="%d/%m/%Y", decimal_separator=",",
                    booking_date="Date", value_date="Value date", debit="Debit", credit="Credit", currency="BHD",
                    reference="Reference", description="Details", closing_balance="Balance")
    return CsvStatementMapping.objects.create(name=name, **{**defaults, **fields})


def nothing_stored() -> bool:
    return not BankStatement.objects.exists() and not BankStatementLine.objects.exists()


# ---------------------------------------------------------------- the mapping's database checks


@pytest.mark.parametrize(("fields", "constraint"), [
    ({"amount": "Amount"}, "reconciliation_csvmapping_amount_or_debit_credit"),  # and debit/credit too
    ({"debit": "", "credit": "Credit"}, "reconciliation_csvmapping_amount_or_debit_credit"),
    ({"currency_column": "Ccy"}, "reconciliation_csvmapping_currency_or_column"),
    ({"currency": "", "currency_column": ""}, "reconciliation_csvmapping_currency_or_column"),
    ({"bank_bic": "NBOBBHBM"}, "reconciliation_csvmapping_nostro_or_bank"),
    ({"nostro_id": None}, "reconciliation_csvmapping_nostro_or_bank"),
    ({"thousands_separator": ","}, "reconciliation_csvmapping_separators_differ"),
    ({"delimiter": "x"}, "reconciliation_csvmapping_delimiter"),
])
def test_the_exclusive_choices_are_database_checks(fields, constraint):
    nbb()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        nbb_mapping(**fields)
    assert not CsvStatementMapping.objects.exists()


# ---------------------------------------------------------------- the service and the command


def test_a_csv_through_the_named_mapping_is_the_nostros_statement_in_fils():
    nbb()
    nbb_mapping()
    (statement,) = statement_import(content=NBB_CSV, file_name="nbb.csv", actor=ACTOR, mapping_name="NBB daily CSV")
    assert (statement.nostro_id, statement.format, statement.account, statement.currency) == (
        "nbb-bhd-01", "csv", "BH67BMAG00001299123456", "BHD")
    assert (statement.opening_balance, statement.closing_balance) == (None, 1_011_250)
    assert [(line.amount, line.reference) for line in statement.lines.order_by("position")] == [
        (12_500, "pay_01M8FVRFV3"), (-1_250, "po_9")]
    assert AuditEvent.objects.get(action="reconciliation.statement_imported").after["csv_mapping"] == "NBB daily CSV"


def test_the_nostro_chooses_its_own_mapping_or_its_banks():
    nbb()
    nbb_mapping(nostro_id=None, bank_bic="NBOBBHBM")  # the bank's, by BIC (a branch code would match too)
    (statement,) = statement_import(content=NBB_CSV, file_name="nbb.csv", actor=ACTOR, nostro_code="nbb-bhd-01")
    assert statement.lines.count() == 2


def test_command_with_mapping_prints_json_in_minor_units(tmp_path):
    nbb()
    nbb_mapping()
    path = tmp_path / "nbb-2026-11-29.csv"
    path.write_bytes(NBB_CSV)
    out = StringIO()
    call_command("statement_import", str(path), "--mapping", "NBB daily CSV", "--json", stdout=out)
    (summary,) = json.loads(out.getvalue())
    assert summary == {"statement_id": BankStatement.objects.get().statement_id, "format": "csv",
                       "account": "BH67BMAG00001299123456", "currency": "BHD", "opening_balance": None,
                       "closing_balance": 1_011_250, "lines": 2}


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({}, StatementFormatUnsupported, "no CSV mapping was given"),
    ({"nostro_code": "nbb-bhd-01"}, StatementFormatUnsupported, "no CSV mapping was given"),  # it has none
    ({"mapping_name": "Nobody"}, StatementMappingUnknown, "There is no CSV statement mapping 'Nobody'"),
    ({"mapping_name": "Other bank", "nostro_code": "nbb-bhd-01"}, StatementMappingMismatch,
     "CSV mapping 'Other bank' is nostro bbk-bhd-01's, not nbb-bhd-01's"),
    ({"mapping_name": "BBK bank"}, StatementAccountUnknown, "choose the nostro it is for"),
])
def test_a_csv_without_its_mapping_is_refused_storing_nothing(kwargs, error, message):
    nbb()
    nbb("bbk-bhd-01", iban="BH29BBKU00200001234567", bic="BBKUBHBM")
    nbb_mapping("Other bank", nostro_id="bbk-bhd-01")
    nbb_mapping("BBK bank", nostro_id=None, bank_bic="BBKUBHBM")
    with pytest.raises(error, match=message):
        statement_import(content=NBB_CSV, file_name="nbb.csv", actor=ACTOR, **kwargs)
    assert nothing_stored()


def test_a_malformed_csv_row_is_refused_naming_its_line_storing_nothing(tmp_path):
    nbb()
    nbb_mapping()
    path = tmp_path / "nbb.csv"
    path.write_bytes(NBB_CSV.replace(b"30/11/2026", b"2026-11-30"))
    with pytest.raises(CommandError, match=r"statement_malformed: .*line 3: '2026-11-30' is not a date in the format"):
        call_command("statement_import", str(path), "--nostro", "nbb-bhd-01", "--mapping", "NBB daily CSV")
    with pytest.raises(StatementMalformed):
        statement_import(content=NBB_CSV.replace(b"12,500", b"12,5001"), file_name="x.csv", actor=ACTOR,
                         mapping_name="NBB daily CSV")
    assert nothing_stored() and not AuditEvent.objects.filter(action="reconciliation.statement_imported").exists()


# ---------------------------------------------------------------- the admin


def test_admin_upload_with_a_mapping_imports_the_csv():
    nbb()
    nbb_mapping()
    client = signed_in_client(staff_user("Treasury operator"))
    url = reverse("admin:reconciliation_bankstatement_import")
    assert "NBB daily CSV" in client.get(url).content.decode()
    response = client.post(url, {"statement": SimpleUploadedFile("nbb.csv", NBB_CSV), "mapping": "NBB daily CSV"})
    statement = BankStatement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:reconciliation_bankstatement_change", args=[statement.pk])
    assert (statement.format, statement.nostro_id, statement.lines.count()) == ("csv", "nbb-bhd-01", 2)


def test_admin_upload_of_a_csv_without_mapping_shows_why_and_stores_nothing():
    nbb()
    client = signed_in_client(staff_user("Treasury operator"))
    response = client.post(reverse("admin:reconciliation_bankstatement_import"),
                           {"statement": SimpleUploadedFile("nbb.csv", NBB_CSV)})
    assert response.status_code == 200
    assert "no CSV mapping was given for it" in response.content.decode()
    assert nothing_stored()


def mapping_form(**fields) -> dict:
    return {"name": "NBB daily CSV", "nostro": "nbb-bhd-01", "bank_bic": "", "booking_date": "Date",
            "value_date": "Value date", "debit": "Debit", "credit": "Credit", "currency": "BHD", "delimiter": ";",
            "encoding": "utf-8", "header_rows": "1", "date_format": "%d/%m/%Y", "decimal_separator": ",",
            "closing_balance": "Balance", "change_reason": "NBB's new CSV export", **fields}


def test_treasury_creates_a_mapping_with_a_reason_checked_against_a_sample():
    nbb()
    client = signed_in_client(staff_user("Treasury operator"))
    url = reverse("admin:reconciliation_csvstatementmapping_add")
    bad_sample = NBB_CSV.replace(b"12,500", b"12.5.00")
    response = client.post(url, mapping_form(sample=SimpleUploadedFile("nbb.csv", bad_sample)))
    assert response.status_code == 200
    assert "The mapping does not read this file: line 2: amount" in response.content.decode()
    assert not CsvStatementMapping.objects.exists()
    response = client.post(url, mapping_form(sample=SimpleUploadedFile("nbb.csv", NBB_CSV)))
    assert response.status_code == 302
    mapping = CsvStatementMapping.objects.get()
    assert (mapping.nostro_id, mapping.debit, mapping.decimal_separator) == ("nbb-bhd-01", "Debit", ",")
    by_index = client.post(url, mapping_form(name="By index", nostro="", bank_bic="BBKUBHBM", columns_by_index="on"))
    assert "is not a 0-based index" in by_index.content.decode()


def test_support_may_not_change_a_mapping():
    nbb()
    client = signed_in_client(staff_user("Support (read-only)"))
    assert client.post(reverse("admin:reconciliation_csvstatementmapping_add"), mapping_form()).status_code == 403
    assert not CsvStatementMapping.objects.exists()
