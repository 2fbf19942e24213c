"""A bank's CSV read through its column mapping: a signed amount column, debit and credit columns,
a comma decimal separator, balances, and bad rows refused naming their line."""

import hashlib
from datetime import date

import pytest

from apps.reconciliation.adapters.csv_statement import CsvMapping, csv_parse
from apps.reconciliation.data import Balance, StatementLine, StatementRefused

ACCOUNT = "BH67BMAG00001299123456"

SIGNED = CsvMapping(
    booking_date="Date", value_date="Value date", amount="Amount", currency="BHD", reference="Reference",
    end_to_end_id="End to end", bank_reference="Bank ref", counterparty_name="Name",
    counterparty_account="IBAN", description="Details",
)
SIGNED_CSV = (
    b"Date,Value date,Amount,Reference,End to end,Bank ref,Name,IBAN,Details\r\n"
    b"2026-12-01,2026-12-01,12.500,INV-77,E2E-42,NBB1,Acme Trading W.L.L.,BH29BMAG1299123456BH00,\"Card, batch 9\"\r\n"
    b"2026-12-01,2026-12-02,-0.125,,,NBB2,,,Fee\r\n"
    b"\r\n"
    b"2026-12-02,,-1000,PO-1,PO-1-E2E,NBB3,Bob,BH02CITI00001077181611,Payout\r\n"
)


def test_a_signed_amount_column():
    (statement,) = csv_parse(SIGNED_CSV, SIGNED, account=ACCOUNT)

    assert (statement.format, statement.version, statement.sequence, statement.account, statement.currency) == (
        "csv", "", "", ACCOUNT, "BHD")
    assert statement.statement_id == hashlib.sha256(SIGNED_CSV).hexdigest()
    assert (statement.opening_balance, statement.closing_balance, statement.created_at) == (None, None, None)
    assert [line.amount for line in statement.lines] == [12500, -125, -1000000]
    assert statement.lines[0] == StatementLine(
        amount=12500, currency="BHD", booking_date=date(2026, 12, 1), value_date=date(2026, 12, 1),
        reference="INV-77", end_to_end_id="E2E-42", bank_reference="NBB1", counterparty_name="Acme Trading W.L.L.",
        counterparty_account="BH29BMAG1299123456BH00", description="Card, batch 9")
    assert (statement.lines[1].value_date, statement.lines[2].value_date) == (date(2026, 12, 2), None)


def test_debit_and_credit_columns_by_index_with_a_currency_column_and_balances():
    mapping = CsvMapping(
        booking_date=0, debit=2, credit=3, currency_column=4, reference=1, opening_balance=5, closing_balance=6,
        statement_id=7, header_rows=2, date_format="%d/%m/%Y", delimiter=";",
    )
    content = (
        b"Export of account 1299123456\n"
        b"date;ref;debit;credit;ccy;before;after;stmt\n"
        b"01/12/2026;A;;250.000;bhd;1000.000;1250.000;ST-9\n"
        b"02/12/2026;B;10.000;;BHD;1250.000;1240.000;ST-9\n"
        b"02/12/2026;C;-5.5;;BHD;1240.000;1234.500;ST-9\n"
    )

    (statement,) = csv_parse(content, mapping, account=ACCOUNT)

    assert statement.statement_id == "ST-9"
    assert [(line.amount, line.reference) for line in statement.lines] == [(250000, "A"), (-10000, "B"), (-5500, "C")]
    assert statement.opening_balance == Balance(1000000, "BHD", date(2026, 12, 1))
    assert statement.closing_balance == Balance(1234500, "BHD", date(2026, 12, 2))


def test_a_comma_decimal_separator_with_dots_for_thousands_in_latin_1():
    mapping = CsvMapping(
        booking_date="Buchungstag", amount="Betrag", currency="EUR", counterparty_name="Empfänger",
        delimiter=";", encoding="latin-1", date_format="%d.%m.%Y", decimal_separator=",", thousands_separator=".",
    )
    content = "Buchungstag;Betrag;Empfänger\n30.11.2026;-1.234,56;Müller GmbH\n01.12.2026;+7,5;Café\n".encode("latin-1")

    (statement,) = csv_parse(content, mapping, account="DE89370400440532013000")

    assert [(line.amount, line.counterparty_name) for line in statement.lines] == [
        (-123456, "Müller GmbH"), (750, "Café")]


def _bad(row: str) -> bytes:
    return SIGNED_CSV + row.encode() + b"\r\n"


@pytest.mark.parametrize(("content", "line", "reason"), [
    (_bad("2026-13-01,,1.000,,,,,,"), 6, "'2026-13-01' is not a date in the format %Y-%m-%d"),
    (_bad("2026-12-03,,1.0001,,,,,,"), 6,
     "amount '1.0001': '1.0001' has 4 fractional digits but BHD allows at most 3; "
     "round explicitly with from_decimal()"),
    (_bad("2026-12-03,,abc,,,,,,"), 6, "amount 'abc': 'abc' is not a plain decimal amount: expected an optional '-', "
     "ASCII digits and optionally '.' with 1 to 3 digits (no '+', spaces, separators or exponents)"),
    (_bad("2026-12-03,,,,,,,,"), 6, "the amount is empty"),
    (_bad("2026-12-03,,1.000"), 6, "the row has 3 columns, reference is column 4"),
    (b"Date,Value date,Amount,Reference,End to end,Bank ref,Name,IBAN,Details\r\n", None,
     "no statement rows in the file"),
    (b"Day,Amount\r\n2026-12-01,1\r\n", 1, "the header has no column 'Date' (mapped as booking_date)"),
    (b"Date,Value date,Amount,Reference,End to end,Bank ref,Name,IBAN,Details\r\n\xff\r\n", 2, "not utf-8 text"),
])
def test_a_bad_row_is_refused_naming_its_line(content, line, reason):
    with pytest.raises(StatementRefused) as refused:
        csv_parse(content, SIGNED, account=ACCOUNT)

    assert (refused.value.line, refused.value.reason) == (line, reason)


def test_debit_and_credit_both_or_neither_and_another_currency_are_refused():
    mapping = CsvMapping(booking_date=0, debit=1, credit=2, currency_column=3, header_rows=0)

    for row, reason in [("2026-12-01,1.000,2.000,BHD", "the row has both a debit and a credit"),
                        ("2026-12-01,,,BHD", "the row has neither a debit nor a credit"),
                        ("2026-12-01,,2.00,USD", "a row in USD in a statement in BHD"),
                        ("2026-12-01,,2.00,XYZ", "'XYZ' is not an ISO 4217 currency")]:
        with pytest.raises(StatementRefused) as refused:
            csv_parse(f"2026-11-30,,1.000,BHD\n{row}\n".encode(), mapping, account=ACCOUNT)
        assert (refused.value.line, refused.value.reason) == (2, reason)


def test_a_quoted_cell_over_two_lines_keeps_the_next_rows_line_numbers():
    content = SIGNED_CSV.replace(b'"Card, batch 9"', b'"Card,\r\nbatch 9"') + b"2026-12-03,,x,,,,,,\r\n"

    with pytest.raises(StatementRefused) as refused:
        csv_parse(content, SIGNED, account=ACCOUNT)

    assert refused.value.line == 7


@pytest.mark.parametrize("fields", [
    {"booking_date": 0, "currency": "BHD"},  # no amount at all
    {"booking_date": 0, "amount": 1, "debit": 2, "currency": "BHD"},  # both ways
    {"booking_date": 0, "amount": 1},  # no currency
    {"booking_date": 0, "amount": 1, "currency": "BHD", "currency_column": 2},
    {"booking_date": 0, "amount": 1, "currency": "XYZ"},
    {"booking_date": 0, "amount": 1, "currency": "EUR", "decimal_separator": ",", "thousands_separator": ","},
])
def test_a_mapping_that_cannot_read_a_file_is_refused_when_saved(fields):
    with pytest.raises(ValueError):
        CsvMapping(**fields)
