"""Statement import (database): the public camt.053 and MT940 samples stored against a nostro, and
every refusal (duplicate, unknown account, malformed, another currency, a CSV) storing nothing;
the command's JSON, the append-only trigger and the admin's upload page."""

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
    StatementCurrencyMismatch,
    StatementDuplicate,
    StatementFormatUnsupported,
    StatementMalformed,
)
from apps.reconciliation.models import BankStatement, BankStatementLine
from apps.reconciliation.services.statements import statement_import
from apps.treasury.models import NostroAccount
from tests.factories.staff import signed_in_client, staff_user
from tests.reconciliation import samples

pytestmark = pytest.mark.django_db

ACTOR = Actor.system("tests.reconciliation")
CAMT_IBAN = "NL26VAYB8060476890"


def sample(name: str) -> bytes:
    """``camt/…`` or ``mt940/…``."""
    folder, _, file_name = name.partition("/")
    return samples.sample(folder, file_name)


def nostro(code: str = "vayb-eur-01", *, iban: str = CAMT_IBAN, currency: str = "EUR") -> NostroAccount:
    return NostroAccount.objects.create(code=code, currency=currency, bank_name="Sample bank", bic="VAYBNL2A",
                                        iban=iban, account_name="Fincore B.S.C.")


def camt_multi() -> bytes:
    return sample("camt/camt053.v2.multi.statement.xml")


def nothing_stored() -> bool:
    return not BankStatement.objects.exists() and not BankStatementLine.objects.exists()


def test_camt_statements_found_by_their_iban_stored_with_lines_and_journaled():
    account = nostro()
    first, second = statement_import(content=camt_multi(), file_name="multi.xml", actor=ACTOR)
    assert (first.nostro, first.format, first.version) == (account, "camt.053", "001.02")
    assert (first.statement_id, first.sequence, first.account, first.currency) == (
        "253EURNL26VAYB8060476890", "12312", CAMT_IBAN, "EUR")
    assert (first.opening_balance, first.closing_balance) == (1815, 2700)
    assert (second.statement_id, second.opening_balance, second.closing_balance) == (
        "254EURNL26VAYB8060476890", 2700, 2000)
    assert (first.file_index, second.file_index) == (0, 1)
    assert bytes(first.content) == camt_multi()
    assert first.lines.count() == 1 and second.lines.count() == 1
    assert all(line.amount != 0 and line.currency == "EUR" for line in BankStatementLine.objects.all())
    event = AuditEvent.objects.get(action="reconciliation.statement_imported")
    assert event.after["statements"] == 2 and event.after["lines"] == 2
    assert event.after["sha256"] == first.sha256 and event.after["file_name"] == "multi.xml"


def test_iban_found_with_lower_case_in_the_file():
    nostro()
    spaced = camt_multi().replace(CAMT_IBAN.encode(), b"NL26vayb8060476890")  # what the IBAN pattern allows
    assert len(statement_import(content=spaced, file_name="spaced.xml", actor=ACTOR)) == 2


def test_mt940_by_nostro_code():
    nostro("abn-eur-01", iban="NL91ABNA0417164300")
    first, second = statement_import(content=sample("mt940/jejik_abnamro.sta"), file_name="abn.sta", actor=ACTOR,
                                     nostro_code="abn-eur-01")
    assert (first.format, first.account, first.sequence) == ("mt940", "517852257", "19321/1")
    assert (first.opening_balance, first.closing_balance) == (323628, 87684)
    assert (first.lines.count(), second.lines.count()) == (8, 2)


def test_the_same_file_twice_refused_and_nothing_more_stored():
    nostro()
    statement_import(content=camt_multi(), file_name="multi.xml", actor=ACTOR)
    with pytest.raises(StatementDuplicate, match="imported before"):
        statement_import(content=camt_multi(), file_name="again.xml", actor=ACTOR)
    assert (BankStatement.objects.count(), BankStatementLine.objects.count()) == (2, 2)


def test_the_same_statement_in_another_file_refused():
    nostro()
    statement_import(content=camt_multi(), file_name="multi.xml", actor=ACTOR)
    with pytest.raises(StatementDuplicate, match="253EURNL26VAYB8060476890"):
        statement_import(content=camt_multi() + b"\n", file_name="other.xml", actor=ACTOR)
    assert BankStatement.objects.count() == 2


def test_one_statement_twice_in_a_file_refused_with_nothing_stored():
    # Rabobank's sample repeats :20: 940S130101 with :28C: 0 for its two statements.
    nostro("rabo-eur-01", iban="NL71RABO0123456789")
    with pytest.raises(StatementDuplicate, match="940S130101"):
        statement_import(content=sample("mt940/jejik_rabobank-iban.sta"), file_name="rabo.sta", actor=ACTOR)
    assert nothing_stored()


def test_unknown_account_refused_naming_it():
    with pytest.raises(StatementAccountUnknown, match=CAMT_IBAN) as refused:
        statement_import(content=camt_multi(), file_name="multi.xml", actor=ACTOR)
    assert refused.value.code == "statement_account_unknown"
    assert nothing_stored()


def test_unknown_nostro_code_refused():
    with pytest.raises(StatementAccountUnknown, match="nope"):
        statement_import(content=camt_multi(), file_name="multi.xml", actor=ACTOR, nostro_code="nope")


def test_malformed_refused_with_its_line_and_nothing_stored():
    nostro()
    broken = camt_multi().replace(b"<Amt Ccy=\"EUR\">", b"<Amt Ccy=\"EUR\">-", 1)
    assert broken != camt_multi()
    with pytest.raises(StatementMalformed,
                       match=r"line \d+: not valid against the camt.053.001.02 schema: .*less than the min") as refused:
        statement_import(content=broken, file_name="broken.xml", actor=ACTOR)
    assert refused.value.code == "statement_malformed" and refused.value.extensions["line"]
    truncated = camt_multi()[: len(camt_multi()) // 2]
    with pytest.raises(StatementMalformed, match=r"line \d+: not well-formed XML"):
        statement_import(content=truncated, file_name="truncated.xml", actor=ACTOR)
    assert nothing_stored()


def test_currency_other_than_the_nostros_refused():
    nostro("vayb-bhd-01", currency="BHD")
    with pytest.raises(StatementCurrencyMismatch, match=r"EUR.*BHD"):
        statement_import(content=camt_multi(), file_name="multi.xml", actor=ACTOR)
    assert nothing_stored()


def test_a_balance_in_another_currency_refused():
    # The v4 sample's closing balance is given in SEK on a EUR account.
    nostro()
    with pytest.raises(StatementCurrencyMismatch, match="closing balance in SEK"):
        statement_import(content=sample("camt/camt053.v4.xml"), file_name="v4.xml", actor=ACTOR)
    assert nothing_stored()


def test_csv_without_a_mapping_and_other_xml_refused_as_unsupported():
    nostro()
    with pytest.raises(StatementFormatUnsupported, match="no CSV mapping was given for it: choose the CSV mapping"):
        statement_import(content=b"date,amount\n2024-01-01,1.00\n", file_name="bank.csv", actor=ACTOR)
    with pytest.raises(StatementFormatUnsupported, match="camt"):
        statement_import(content=b"<?xml version='1.0'?><Document/>", file_name="other.xml", actor=ACTOR)
    assert nothing_stored()


def test_command_prints_a_json_list(tmp_path):
    nostro()
    path = tmp_path / "multi.xml"
    path.write_bytes(camt_multi())
    out = StringIO()
    call_command("statement_import", str(path), "--json", stdout=out)
    assert json.loads(out.getvalue()) == [
        {"statement_id": "253EURNL26VAYB8060476890", "format": "camt.053", "account": CAMT_IBAN, "currency": "EUR",
         "opening_balance": 1815, "closing_balance": 2700, "lines": 1},
        {"statement_id": "254EURNL26VAYB8060476890", "format": "camt.053", "account": CAMT_IBAN, "currency": "EUR",
         "opening_balance": 2700, "closing_balance": 2000, "lines": 1},
    ]
    with pytest.raises(CommandError, match="statement_duplicate"):
        call_command("statement_import", str(path), "--json", stdout=StringIO())


def test_command_with_nostro_code(tmp_path):
    nostro("ing-eur-01", iban="NL20INGB0001234567")
    path = tmp_path / "ing.sta"
    path.write_bytes(sample("mt940/jejik_ing.sta"))
    out = StringIO()
    call_command("statement_import", str(path), "--nostro", "ing-eur-01", "--json", stdout=out)
    [printed] = json.loads(out.getvalue())
    assert (printed["format"], printed["account"], printed["lines"]) == ("mt940", "0001234567", 7)


def test_the_database_refuses_to_change_or_delete_a_statement():
    nostro()
    statement_import(content=camt_multi(), file_name="multi.xml", actor=ACTOR)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        BankStatement.objects.update(file_name="changed.xml")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        BankStatementLine.objects.update(amount=1)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        BankStatementLine.objects.all().delete()
    assert BankStatement.objects.filter(file_name="multi.xml").count() == 2


def test_a_treasury_operator_uploads_a_statement_in_the_admin():
    nostro()
    client = signed_in_client(staff_user("Treasury operator"))
    url = reverse("admin:reconciliation_bankstatement_import")
    assert client.get(url).status_code == 200
    response = client.post(url, {"statement": SimpleUploadedFile("multi.xml", camt_multi())})
    assert response.status_code == 302
    assert BankStatement.objects.count() == 2
    assert BankStatement.objects.first().imported_by != "tests"
    listed = client.get(response["Location"])
    assert listed.status_code == 200 and "2 statement(s) imported" in listed.content.decode()
    again = client.post(url, {"statement": SimpleUploadedFile("multi.xml", camt_multi())})
    assert again.status_code == 200 and "imported before" in again.content.decode()
    assert BankStatement.objects.count() == 2


def test_support_may_not_upload():
    client = signed_in_client(staff_user("Support (read-only)"))
    assert client.get(reverse("admin:reconciliation_bankstatement_import")).status_code == 403
